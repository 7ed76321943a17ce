/// SPC-4 7.8.6 Device Identification VPD page (0x83) designation descriptors.
enum DeviceIdentification {
    /// SPC-4 table 477: protocol identifier for iSCSI.
    static let iSCSIProtocol: UInt8 = 0x5

    enum CodeSet: UInt8 { case binary = 1, ascii = 2, utf8 = 3 }
    enum Association: UInt8 { case logicalUnit = 0, targetPort = 1, targetDevice = 2 }
    enum DesignatorType: UInt8 {
        case t10VendorID = 1, naa = 3, relativeTargetPort = 4, targetPortGroup = 5, scsiNameString = 8
    }

    /// In order: NAA 6 and T10 vendor ID for the LU; relative target port, target port group
    /// and SCSI name string ("<iqn>,t,0x<tpgt>") for the target port; SCSI name string of
    /// the target device. Port/device designators carry PIV=1 and protocol identifier 5.
    static func designators(lu: LogicalUnitInfo, context: CommandContext) -> [UInt8] {
        var out: [UInt8] = []
        for d in logicalUnitDesignators(lu) {
            append(&out, DesignatorType(rawValue: d.type)!, .logicalUnit, CodeSet(rawValue: d.codeSet)!, d.value)
        }

        var relativePort: [UInt8] = [0, 0]
        relativePort.appendBE16(lu.relativeTargetPort)
        append(&out, .relativeTargetPort, .targetPort, .binary, relativePort)

        var portGroup: [UInt8] = [0, 0]
        portGroup.appendBE16(lu.targetPortGroup)
        append(&out, .targetPortGroup, .targetPort, .binary, portGroup)

        if !lu.targetName.isEmpty {
            let tag = String(context.portalGroupTag, radix: 16)
            let portName = lu.targetName + ",t,0x" + String(repeating: "0", count: max(0, 4 - tag.count)) + tag
            append(&out, .scsiNameString, .targetPort, .utf8, scsiNameString(portName))
            append(&out, .scsiNameString, .targetDevice, .utf8, scsiNameString(lu.targetName))
        }
        return out
    }

    /// The designators with logical-unit association, in page order: NAA 6 (when the LU has
    /// one) and T10 vendor ID. EXTENDED COPY names its copy targets with them.
    static func logicalUnitDesignators(_ lu: LogicalUnitInfo) -> [CopyDesignator] {
        var out: [CopyDesignator] = []
        if lu.naaIdentifier.count == 16 || lu.naaIdentifier.count == 8 {
            out.append(CopyDesignator(codeSet: CodeSet.binary.rawValue, association: Association.logicalUnit.rawValue,
                                      type: DesignatorType.naa.rawValue, value: lu.naaIdentifier))
        }
        var t10: [UInt8] = []
        t10.appendASCII(lu.vendor, width: 8)
        t10.appendASCII(lu.serial, width: lu.serial.utf8.count)
        out.append(CopyDesignator(codeSet: CodeSet.ascii.rawValue, association: Association.logicalUnit.rawValue,
                                  type: DesignatorType.t10VendorID.rawValue, value: t10))
        return out
    }

    /// SPC-4 7.8.6.11: null-terminated, padded with nulls to a multiple of 4. The designator
    /// length is one byte, so 252 bytes is the most that fits: a longer name (iSCSI names
    /// stop at 223 bytes, but the port name adds ",t,0x0001") is cut, never a trap.
    static func scsiNameString(_ name: String) -> [UInt8] {
        var bytes = Array(name.utf8.prefix(251))
        bytes.append(0)
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    private static func append(_ out: inout [UInt8], _ type: DesignatorType, _ association: Association,
                               _ codeSet: CodeSet, _ designator: [UInt8]) {
        // PIV (and the protocol identifier) only for target port / target device associations.
        let piv = association != .logicalUnit
        out.append((piv ? iSCSIProtocol << 4 : 0) | codeSet.rawValue)
        out.append((piv ? 0x80 : 0) | association.rawValue << 4 | type.rawValue)
        out.append(0)
        out.append(UInt8(designator.count))
        out += designator
    }
}
