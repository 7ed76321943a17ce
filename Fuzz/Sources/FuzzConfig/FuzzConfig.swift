import Config
import FuzzSupport

/// The config parser on arbitrary UTF-8 text (the loader refuses anything else), and the
/// writer's contract: a parsed config renders to text that parses back to an equal config,
/// and rendering that again gives the same text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = String(validating: fuzzBytes(data, size), as: UTF8.self) else { return 0 }
    let config: TargeConfig
    do {
        config = try ConfigParser.parse(text)
    } catch {
        // "Every error in the file is collected and thrown together, in line order."
        fuzzCheck(!error.errors.isEmpty, "parse failed without an error")
        let lines = error.errors.map(\.line)
        fuzzCheck(lines == lines.sorted(), "errors out of line order: \(lines)")
        _ = error.description
        return 0
    }
    let rendered = ConfigWriter.render(config)
    let reparsed: TargeConfig
    do {
        reparsed = try ConfigParser.parse(rendered)
    } catch {
        fuzzCheck(false, "rendered config does not parse:\n\(error)\n--- rendered:\n\(rendered)--- from:\n\(text)")
        return 0
    }
    fuzzCheck(reparsed == config, "rendered config parses to a different config:\n--- rendered:\n\(rendered)--- from:\n\(text)")
    fuzzCheck(ConfigWriter.render(reparsed) == rendered, "rendering is not a fixed point:\n\(rendered)")
    return 0
}
