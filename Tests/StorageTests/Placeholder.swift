import XCTest
final class PlaceholderStorageTests: XCTestCase { func testNothing() {} }
