/// The mode pages the LU reports, in ascending page-code order (the order of page 3Fh), with
/// what MODE SELECT may change: WCE (caching), D_SENSE and SWP (control), and the
/// informational exceptions settings that only matter when a failure is predicted (Targe
/// never predicts one, and TEST stays off).
enum ModePages {
    static let all: [ModePage] = [
        // SBC-4 6.5.9 Read-Write Error Recovery: AWRE=1, ARRE=1, no retries reported.
        ModePage(code: 0x01, name: "Read-Write Error Recovery") { _, _ in
            [0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        },
        // SBC-4 6.5.5 Caching: WCE per configuration/state, RCD=0 (read cache on).
        ModePage(code: 0x08, name: "Caching", changeable: [0x04],
                 apply: { body, lu, state in
                     let wce = body[0] & 0x04 != 0
                     state.writeCacheOverride = wce == lu.writeCache ? nil : wce
                 }) { lu, state in
            var page = [UInt8](repeating: 0, count: 18)
            page[0] = state.writeCacheEnabled(lu) ? 0x04 : 0x00  // byte 2: WCE (bit 2), RCD (bit 0) = 0
            return page
        },
        // SPC-4 7.5.8 Control: TST=000b, GLTSD=1, D_SENSE per state, QUEUE ALGORITHM MODIFIER=1
        // (unrestricted reordering), QERR=00b, SWP per state, TAS=0, BUSY TIMEOUT PERIOD
        // unlimited. D_SENSE (byte 2 bit 2) and SWP (byte 4 bit 3) are changeable.
        ModePage(code: 0x0A, name: "Control", changeable: [0x04, 0x00, 0x08],
                 apply: { body, _, state in
                     state.descriptorSense = body[0] & 0x04 != 0
                     state.softwareWriteProtect = body[2] & 0x08 != 0
                 }) { _, state in
            var page = [UInt8](repeating: 0, count: 10)
            page[0] = 0x02 | (state.descriptorSense ? 0x04 : 0x00)  // byte 2: D_SENSE, GLTSD
            page[1] = 0x10                                           // byte 3: QAM=1, QERR=00b
            page[2] = state.softwareWriteProtect ? 0x08 : 0x00       // byte 4: SWP
            page[6] = 0xFF                                           // bytes 8-9: BUSY TIMEOUT PERIOD
            page[7] = 0xFF
            return page
        },
        // SPC-4 7.5.12 Informational Exceptions Control: DEXCPT=1 (disabled), MRIE=0 by
        // default. EWASC, DEXCPT, LOGERR, MRIE (0-6), INTERVAL TIMER and REPORT COUNT are
        // changeable; PERF, EBF, TEST and EBACKERR are not.
        ModePage(code: 0x1C, name: "Informational Exceptions Control",
                 changeable: [0x19, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                 apply: { body, _, state in state.informationalExceptions = body },
                 validate: { body in body[1] & 0x0F > 6 ? (index: 1, bit: 3) : nil }) { _, state in
            state.informationalExceptions
        },
    ]

    /// Informational exceptions page body (bytes 2-11) at power on: DEXCPT=1, MRIE=0.
    static let defaultInformationalExceptions: [UInt8] = [0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    static func page(_ code: UInt8) -> ModePage? {
        all.first { $0.code == code }
    }
}
