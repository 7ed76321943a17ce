/// SPC-4 table 49: sense keys.
public enum SenseKey: UInt8, Sendable, Equatable, CaseIterable {
    case noSense = 0x0
    case recoveredError = 0x1
    case notReady = 0x2
    case mediumError = 0x3
    case hardwareError = 0x4
    case illegalRequest = 0x5
    case unitAttention = 0x6
    case dataProtect = 0x7
    case blankCheck = 0x8
    case vendorSpecific = 0x9
    case copyAborted = 0xA
    case abortedCommand = 0xB
    case reserved0C = 0xC
    case volumeOverflow = 0xD
    case miscompare = 0xE
    case completed = 0xF
}
