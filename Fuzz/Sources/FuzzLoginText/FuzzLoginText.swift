import FuzzSupport
import ISCSI

/// Login text keys, the negotiator and a whole login exchange.
///
/// Input: byte 0 picks the target's offer (bits 0-1, `FuzzOffers`) and the authority's
/// behaviour (bits 2-4, `FuzzAuthority`, CHAP policies included). The rest is segments
/// separated by 0xFF (a byte UTF-8 text never contains), each one Login Request: byte 0 the
/// BHS flags byte (T, C, CSG, NSG), byte 1 a control byte, then the `key=value\0` text.
/// Control bits: 0x01 versionMin 1, 0x02 change the ISID, 0x04 TSIH 0x0107, 0x08 a Text
/// Request opcode instead of Login, 0x10 append CHAP_N/CHAP_R answering the target's last
/// challenge (0x20: with a wrong secret; 0x40: with CHAP_I/CHAP_C asking for mutual CHAP).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoginText(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(fuzzBytes(data, size))

    // 1. The raw input as one text segment.
    if let parameters = try? TextParameters.parse(input) {
        checkTextRoundTrip(parameters)
    }

    let options = input.first ?? 0
    let offer = FuzzOffers.offer(variant: options)
    let authority = FuzzAuthority(variant: options >> 2)
    let segments = input.dropFirst().split(separator: 0xFF, omittingEmptySubsequences: false)

    // 2. Each segment's text through the negotiator, in a normal leading login, a discovery
    // session and a normal non-leading login (a connection added to a session), accumulating
    // across segments as one login would.
    var normal = Negotiator(offer: offer, isDiscovery: false, isLeading: true)
    var discovery = Negotiator(offer: offer, isDiscovery: true, isLeading: true)
    var added = Negotiator(offer: offer, isDiscovery: false, isLeading: false)
    for segment in segments {
        guard let request = try? TextParameters.parse(segment.dropFirst(2)) else { continue }
        checkTextRoundTrip(request)
        checkNegotiation(&normal, request, offer: offer)
        checkNegotiation(&discovery, request, offer: offer)
        checkNegotiation(&added, request, offer: offer)
        _ = normal.declarations()
    }

    // 3. The segments as one connection's Login Requests.
    var driver = LoginDriver(offer: offer, authority: authority)
    let isid: UInt64 = 0x8012_3456_789a
    for (i, segment) in segments.enumerated() where !driver.finished {
        var reader = FuzzReader(Array(segment))
        let flags = reader.byte()
        let control = reader.byte()
        var text = Array(reader.rest())
        if control & 0x10 != 0 {
            if let last = text.last, last != 0 { text.append(0) }
            text += driver.chapAnswer(wrongSecret: control & 0x20 != 0, mutual: control & 0x40 != 0)
        }
        let pdu = makeLoginPDU(flags: flags, versionMin: control & 0x01,
                               isid: control & 0x02 != 0 ? isid ^ 1 : isid,
                               tsih: control & 0x04 != 0 ? 0x0107 : 0, itt: UInt32(i),
                               cmdSN: 1, opcode: control & 0x08 != 0 ? 0x04 : 0x03, data: text)
        driver.receive(pdu)
    }
    return 0
}
