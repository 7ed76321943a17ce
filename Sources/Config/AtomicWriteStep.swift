/// The points between the steps of `ConfigWriter.writeAtomically` where a power cut matters.
/// Tests inject a failure at each one to check that the old or the new file survives.
public enum AtomicWriteStep: Sendable, Equatable {
    /// The temp file holds the new text and is fsynced; the old file is still in place.
    case tempFileSynced
    /// The temp file has been renamed over the old one; the directory is not yet fsynced.
    case renamed
}
