/// Transport events (SAM-5 6.3, SPC-4 5.14): what the transport tells each LU it serves.
extension LogicalUnitState {
    /// An I_T nexus ended (logout, dropped connection ending the session, session
    /// reinstatement, connection closed by a TARGET COLD RESET). Releases its SPC-2
    /// reservation and its PREVENT, drops its pending unit attentions, and makes its next
    /// command, if it forms again, get I_T NEXUS LOSS OCCURRED (29/07). Persistent
    /// reservations and registrations are unaffected.
    public mutating func nexusLost(_ nexus: NexusIdentity) {
        if reservationHolder == nexus { reservationHolder = nil }
        nexuses.remove(nexus)
        copyManager.forget(nexus)
    }

    /// LOGICAL UNIT RESET (SAM-5 6.3.3), from `issuer` when known: releases the SPC-2
    /// reservation and every PREVENT, returns the mode parameters to their defaults (nothing is
    /// saved), and queues BUS DEVICE RESET FUNCTION OCCURRED (29/03) for every I_T nexus,
    /// the issuer's included. Aborting the tasks is the transport's part. Persistent
    /// reservations are unaffected.
    public mutating func logicalUnitReset(by issuer: NexusIdentity? = nil) {
        reset(issuer: issuer, condition: .busDeviceResetOccurred)
    }

    /// TARGET WARM RESET or TARGET COLD RESET (RFC 7143 11.5.1): a reset of every LU of the
    /// target, as `logicalUnitReset` but with POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
    /// (29/00). For a cold reset the transport also reports each dropped session with
    /// `nexusLost`.
    public mutating func targetReset(by issuer: NexusIdentity? = nil) {
        reset(issuer: issuer, condition: .powerOnReset)
    }

    /// The LU's capacity changed: CAPACITY DATA HAS CHANGED (2A/09) for every I_T nexus.
    public mutating func capacityChanged() {
        establishUnitAttention(.capacityDataChanged)
    }

    /// The LU's ALUA states changed (this gateway took the shared image's lock, or lost it,
    /// or another gateway took it): every I_T nexus gets ASYMMETRIC ACCESS STATE CHANGED
    /// (2A/06, SPC-4 5.15.2.6) so that multipath reads REPORT TARGET PORT GROUPS again.
    /// Nothing is queued when nothing changed.
    public mutating func setALUA(_ view: ALUAView) {
        guard view != alua else { return }
        alua = view
        establishUnitAttention(.asymmetricAccessStateChanged)
    }

    /// Queues a unit attention condition for every known I_T nexus except `excluded` (for
    /// example REPORTED LUNS DATA HAS CHANGED, 3F/0E, after a configuration change). A nexus
    /// that has not sent a command yet gets POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
    /// with its first command instead.
    public mutating func establishUnitAttention(_ sense: SenseData, except excluded: NexusIdentity? = nil) {
        nexuses.post(sense) { $0 != excluded }
    }

    private mutating func reset(issuer: NexusIdentity?, condition: SenseData) {
        reservationHolder = nil
        nexuses.allowRemovalForAll()
        restoreDefaultModeParameters()
        if let issuer { nexuses.ensureKnown(issuer) }
        nexuses.post(condition) { _ in true }
    }

    /// The transport finished the EXTENDED COPY that `ExtendedCopyCommand.complete` began.
    public mutating func finishCopy(_ request: ExtendedCopyRequest, for nexus: NexusIdentity,
                                    segmentsProcessed: Int, bytesCopied: UInt64, failed: Bool) {
        copyManager.finish(request.listID, usage: request.listIDUsage, for: nexus,
                           segmentsProcessed: segmentsProcessed, bytesCopied: bytesCopied, failed: failed)
    }
}

/// Where the LU stands with SANITIZE (SBC-4 4.11).
public enum SanitizeCondition: Sendable, Equatable {
    case idle
    /// Running; done so far in 65536ths (the sense data's progress indication).
    case running(progress: UInt16)
    /// The last sanitize failed: medium access ends MEDIUM ERROR, SANITIZE COMMAND FAILED.
    case failed
}

extension LogicalUnitState {
    /// The transport moved a running sanitize on: `done` of `total` bytes.
    public mutating func sanitizeProgressed(done: UInt64, of total: UInt64) {
        guard case .running = sanitize, total > 0 else { return }
        // done * 65536 / total without overflow for any size.
        let scaled = total.dividingFullWidth(done.multipliedFullWidth(by: 0x10000)).quotient
        sanitize = .running(progress: UInt16(min(UInt64(0xFFFF), scaled)))
    }

    /// The sanitize ended; a successful one clears the failure mode.
    public mutating func sanitizeFinished(succeeded: Bool) {
        sanitize = succeeded ? .idle : .failed
    }
}
