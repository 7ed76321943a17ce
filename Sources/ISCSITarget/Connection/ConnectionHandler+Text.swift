import ISCSI
import ISCSINames
import NIOCore

/// Text requests (RFC 7143 section 11.10): SendTargets, and long answers split with the C bit.
extension ConnectionHandler {
    func answerText(_ pdu: PDU) {
        let h = pdu.header
        var reply: [UInt8]
        if h.targetTransferTag != reservedTag {
            // The initiator asks for the rest of a long answer.
            // The rest of the answer, taken only by the TTT that announced it.
            let pending = machine.updateSession { session -> (ttt: UInt32, remaining: [UInt8])? in
                guard let pending = session.textContinuation, pending.ttt == h.targetTransferTag else { return nil }
                session.textContinuation = nil
                return pending
            } ?? nil
            guard let pending else {
                sendReject(.protocolError, header: h)
                return
            }
            reply = pending.remaining
        } else {
            _ = machine.updateSession { $0.textContinuation = nil }
            let keys: TextParameters
            do {
                keys = try TextParameters.parse(pdu.data)
            } catch {
                logger.warning("bad Text request: \(UntrustedText.escaped("\(error)"))")
                sendReject(.protocolError, header: h)
                return
            }
            var answer = TextParameters()
            for (key, value) in keys.pairs {
                if key == "SendTargets" {
                    answer.pairs += sendTargets(value).pairs
                } else {
                    answer.append(key, "NotUnderstood")
                }
            }
            reply = answer.encoded()
        }
        let limit = Int(parameters.initiatorMaxRecvDataSegmentLength)
        var ttt = reservedTag
        var more = false
        if reply.count > limit {
            ttt = allocateTransferTag()
            let rest = Array(reply[limit...])
            _ = machine.updateSession { $0.textContinuation = (ttt, rest) }
            reply = Array(reply[..<limit])
            more = true
        }
        let seq = nextStatus()
        send(TargetPDU.textResponse(itt: h.initiatorTaskTag, ttt: ttt, final: !more, continued: more, lun: h.lun,
                                    seq: seq, dataLength: reply.count), bytes: reply)
    }

    /// SendTargets (RFC 7143 appendix C): in a discovery session `All` lists every target;
    /// in a normal session only the session's own target is reported.
    func sendTargets(_ value: String) -> TextParameters {
        var answer = TextParameters()
        let candidates: [ExportedTarget]
        if machine.session?.isDiscovery == true {
            if value == "All" {
                candidates = registry.catalog.targets
            } else {
                candidates = registry.catalog.target(named: value).map { [$0] } ?? []
            }
        } else {
            guard let target, value.isEmpty || value == "All" || value.lowercased() == target.name.lowercased() else {
                return answer
            }
            candidates = [target]
        }
        // Discovery lists only what the asker may use (RFC 7143 section 12.1: no leaks).
        for target in candidates where target.admits(initiatorName: machine.initiatorNameSoFar, address: peerAddress) {
            answer.append("TargetName", target.name)
            // A target with gateways is reached at every gateway, each its own portal group:
            // the initiator logs in to each and multipath sees one path per gateway.
            for gateway in target.gateways {
                answer.append("TargetAddress", "\(gateway.address),\(gateway.port.portalGroupTag)")
            }
            guard target.gateways.isEmpty else { continue }
            for address in portalAddresses() {
                answer.append("TargetAddress", "\(address),\(TargetPortalGroup.tag)")
            }
        }
        return answer
    }

    /// The portals to advertise: a portal's `advertise` addresses when it has them (NAT, port
    /// forwards); otherwise a wildcard portal (0.0.0.0 or ::) is reported with the address
    /// this connection reached us on: that one the initiator can certainly use.
    func portalAddresses() -> [String] {
        let local = context.channel.localAddress
        var result: [String] = []
        for portal in settings.portals {
            if !portal.advertised.isEmpty {
                for address in portal.advertised where !result.contains(address) { result.append(address) }
                continue
            }
            var host = portal.host
            var port = portal.port
            if host == "0.0.0.0" || host == "::" || port == 0, let local {
                if host == "0.0.0.0" || host == "::" { host = local.ipAddress ?? host }
                if port == 0 { port = local.port ?? port }
            }
            let formatted = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            if !result.contains(formatted) { result.append(formatted) }
        }
        return result
    }
}
