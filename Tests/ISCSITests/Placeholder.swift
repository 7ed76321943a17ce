import XCTest
final class PlaceholderISCSITests: XCTestCase { func testNothing() {} }
