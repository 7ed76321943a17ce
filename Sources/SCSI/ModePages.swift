/// The mode pages the LU reports, in ascending page-code order (the order of page 3Fh).
/// No parameter is changeable yet (there is no MODE SELECT), so every mask is zero.
enum ModePages {
    static let all: [ModePage] = [
        // SBC-4 6.5.9 Read-Write Error Recovery: AWRE=1, ARRE=1, no retries reported.
        ModePage(code: 0x01, name: "Read-Write Error Recovery") { _, _ in
            [0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        },
        // SBC-4 6.5.5 Caching: WCE per configuration/state, RCD=0 (read cache on).
        ModePage(code: 0x08, name: "Caching") { lu, state in
            var page = [UInt8](repeating: 0, count: 18)
            page[0] = state.writeCacheEnabled(lu) ? 0x04 : 0x00  // byte 2: WCE (bit 2), RCD (bit 0) = 0
            return page
        },
        // SPC-4 7.5.8 Control: TST=000b, GLTSD=1, D_SENSE per state, QUEUE ALGORITHM MODIFIER=1
        // (unrestricted reordering), QERR=00b, SWP=0, TAS=0, BUSY TIMEOUT PERIOD unlimited.
        ModePage(code: 0x0A, name: "Control") { _, state in
            var page = [UInt8](repeating: 0, count: 10)
            page[0] = 0x02 | (state.descriptorSense ? 0x04 : 0x00)  // byte 2: D_SENSE, GLTSD
            page[1] = 0x10                                           // byte 3: QAM=1, QERR=00b
            page[6] = 0xFF                                           // bytes 8-9: BUSY TIMEOUT PERIOD
            page[7] = 0xFF
            return page
        },
        // SPC-4 7.5.12 Informational Exceptions Control: DEXCPT=1 (disabled), MRIE=0.
        ModePage(code: 0x1C, name: "Informational Exceptions Control") { _, _ in
            [0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        },
    ]

    static func page(_ code: UInt8) -> ModePage? {
        all.first { $0.code == code }
    }
}
