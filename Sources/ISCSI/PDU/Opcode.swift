/// iSCSI opcodes (RFC 7143 section 11.1.1). Initiator opcodes are 0x00-0x1f, target opcodes
/// 0x20-0x3f; the two enums keep "what we may receive" apart from "what we may send".
public enum InitiatorOpcode: UInt8, Sendable {
    case nopOut = 0x00
    case scsiCommand = 0x01
    case taskManagementRequest = 0x02
    case loginRequest = 0x03
    case textRequest = 0x04
    case dataOut = 0x05
    case logoutRequest = 0x06
    case snackRequest = 0x10
}

public enum TargetOpcode: UInt8, Sendable {
    case nopIn = 0x20
    case scsiResponse = 0x21
    case taskManagementResponse = 0x22
    case loginResponse = 0x23
    case textResponse = 0x24
    case dataIn = 0x25
    case logoutResponse = 0x26
    case readyToTransfer = 0x31
    case asyncMessage = 0x32
    case reject = 0x3f
}

/// Reject reasons (RFC 7143 section 11.17.1).
public enum RejectReason: UInt8, Sendable {
    case dataDigestError = 0x02
    case snackReject = 0x03
    case protocolError = 0x04
    case commandNotSupported = 0x05
    case immediateCommandReject = 0x06
    case taskInProgress = 0x07
    case invalidDataAck = 0x08
    case invalidPDUField = 0x09
    case longOperationReject = 0x0a
    case waitingForLogout = 0x0c
}

/// The reserved tag value (RFC 7143 section 11.1.4 "0xffffffff").
public let reservedTag: UInt32 = 0xffff_ffff
