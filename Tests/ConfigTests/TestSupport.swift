import XCTest
import Config

/// The smallest valid config: one RAM device exported by one target. Tests append to it.
let minimalConfig = """
[device d]
ram 1MiB
[target t]
lun 0 d

"""

/// The errors parsing `text` produces; fails the test if it parses.
func parseErrors(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigError] {
    do {
        _ = try ConfigParser.parse(text)
        XCTFail("expected the config to be rejected", file: file, line: line)
        return []
    } catch {
        return error.errors
    }
}

/// Asserts that parsing `text` reports an error at `errorLine` whose message contains `fragment`.
func assertError(_ text: String, line errorLine: Int, _ fragment: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let errors = parseErrors(text, file: file, line: line)
    XCTAssertTrue(errors.contains { $0.line == errorLine && $0.message.contains(fragment) },
                  "no error at line \(errorLine) containing \"\(fragment)\"; got:\n\(ConfigErrors(errors))",
                  file: file, line: line)
}

/// Parses text that must be valid.
func parseValid(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> TargeConfig {
    do {
        return try ConfigParser.parse(text)
    } catch {
        XCTFail("unexpected errors:\n\(error)", file: file, line: line)
        throw error
    }
}
