import Crypto
import ISCSINames

/// A CHAP identity (RFC 1994): a user name and its secret.
public struct CHAPCredential: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var name: String
    public var secret: [UInt8]
    /// The initiator names (normalised) this user may log in as; empty: any.
    public var initiators: [String]

    public init(name: String, secret: [UInt8], initiators: [String] = []) {
        self.name = name
        self.secret = secret
        self.initiators = initiators
    }

    /// Whether this user may log in as `initiatorName`.
    public func admits(initiatorName: String) -> Bool {
        initiators.isEmpty || ISCSIName.normalize(initiatorName).map(initiators.contains) == true
    }

    public init(name: String, secret: String) {
        self.init(name: name, secret: Array(secret.utf8))
    }

    /// Never shows the secret, so that a credential printed by mistake leaks nothing.
    public var description: String { "CHAPCredential(name: \(name.debugDescription), secret: <\(secret.count) bytes>)" }
    public var debugDescription: String { description }
}

/// Who must prove what in the security stage of one login (RFC 7143 section 12.1.3).
public struct AuthenticationPolicy: Sendable, Equatable {
    /// The initiators that may log in with CHAP. Empty: no authentication is required, and
    /// AuthMethod=None is accepted.
    public var incoming: [CHAPCredential]
    /// The target's own identity for mutual CHAP, used when an initiator asks the target to
    /// authenticate itself. Nil: such a login fails.
    public var outgoing: CHAPCredential?

    public init(incoming: [CHAPCredential] = [], outgoing: CHAPCredential? = nil) {
        self.incoming = incoming
        self.outgoing = outgoing
    }

    /// No authentication.
    public static let none = AuthenticationPolicy()

    public var requiresCHAP: Bool { !incoming.isEmpty }

    /// Whether a session that logged in as `user` under `earlier` may go on under this policy
    /// (a reload changed the users): no authentication required now, or the same user with
    /// the same secret still listed. A removed user or a new secret ends the session; so does
    /// a requirement where none was.
    public func stillAdmits(user: String?, initiatorName: String, admittedUnder earlier: AuthenticationPolicy) -> Bool {
        guard requiresCHAP else { return true }
        guard let user, let now = incoming.first(where: { $0.name == user }) else { return false }
        // The same secret, and a binding to initiator names (if any) that still includes this one.
        return earlier.incoming.first(where: { $0.name == user })?.secret == now.secret
            && now.admits(initiatorName: initiatorName)
    }
}

/// The security-stage keys of one login: AuthMethod and the CHAP exchange (RFC 7143 section
/// 12.1.3, RFC 1994, MD5 only). Pure: the login state machine hands it the keys of each
/// security-stage request and sends what it answers.
///
///     I -> T  AuthMethod=CHAP,None          T -> I  AuthMethod=CHAP
///     I -> T  CHAP_A=<A1,A2,...>            T -> I  CHAP_A=5 CHAP_I=<I> CHAP_C=<C>
///     I -> T  CHAP_N=<N> CHAP_R=<R>         T -> I  (nothing, or CHAP_N CHAP_R for mutual)
///             [CHAP_I=<I> CHAP_C=<C>]
struct CHAPAuthenticator: Sendable {
    enum State: Sendable, Equatable {
        /// No AuthMethod agreed yet.
        case start
        /// AuthMethod=CHAP agreed; the initiator's CHAP_A comes next.
        case awaitingAlgorithm
        /// Our challenge is out; CHAP_N and CHAP_R come next.
        case awaitingResponse(identifier: UInt8, challenge: [UInt8])
        /// The initiator proved itself, or AuthMethod=None was agreed where no
        /// authentication is required.
        case done
    }

    /// Why the login must fail: the status and keys for the response, and a line for the log.
    struct Failure: Error, Sendable {
        var status: LoginStatus
        var reason: String
        var keys: TextParameters = TextParameters()
    }

    static let md5Algorithm: UInt32 = 5
    static let digestLength = 16
    /// Length of the challenges we send. RFC 1994 leaves it open; 16 bytes (the MD5 output
    /// size) is what Linux LIO and open-iscsi send.
    static let challengeLength = 16
    /// Accepted lengths of an initiator's challenge in mutual CHAP. RFC 7143 section 12.1.3
    /// caps a CHAP_C at 1024 bytes. The lower bound refuses trivially short challenges (a
    /// 1-byte challenge lets an attacker collect the target's answers to every possible
    /// challenge) while letting real initiators through: open-iscsi sends 16 bytes for MD5
    /// (usr/auth.c, chap_challenge_len = AUTH_CHAP_MD5_RSP_LEN) and libiscsi 32 (lib/login.c,
    /// 2 * chap_r_size).
    static let initiatorChallengeLengths = 16...1024

    static let keys: Set<String> = ["CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R"]

    let policy: AuthenticationPolicy
    private(set) var state: State = .start
    /// The name the initiator authenticated as, once it has.
    private(set) var authenticatedUser: String?

    init(policy: AuthenticationPolicy) {
        self.policy = policy
    }

    /// Whether the initiator may transit out of the security stage now.
    var mayLeaveSecurityStage: Bool { !policy.requiresCHAP || state == .done }

    /// Whether a CHAP exchange has started and not finished: a request to leave the security
    /// stage is then answered with T=0 (RFC 7143 section 11.13.3 lets the target hold the
    /// stage), which is what libiscsi's first request (AuthMethod with T=1) expects.
    var isInProgress: Bool {
        switch state {
        case .awaitingAlgorithm, .awaitingResponse: return true
        case .start, .done: return false
        }
    }

    /// Handles the security keys of one request and returns the keys to answer with.
    mutating func receive(_ request: TextParameters) -> Result<TextParameters, Failure> {
        var answer = TextParameters()
        if let methods = request["AuthMethod"] {
            guard state == .start else {
                // RFC 7143 section 6.2: a key negotiated twice is an initiator error.
                return .failure(Failure(status: .initiatorError, reason: "AuthMethod offered a second time"))
            }
            let offered = methods.split(separator: ",").map(String.init)
            if policy.requiresCHAP {
                guard offered.contains("CHAP") else {
                    return .failure(Failure(status: .authenticationFailure,
                                            reason: "initiator offers only AuthMethod \(quoted(methods)) but CHAP is required",
                                            keys: TextParameters([("AuthMethod", "Reject")])))
                }
                answer.append("AuthMethod", "CHAP")
                state = .awaitingAlgorithm
            } else {
                guard offered.contains("None") else {
                    return .failure(Failure(status: .authenticationFailure,
                                            reason: "initiator offers only AuthMethod \(quoted(methods)); no CHAP users are configured",
                                            keys: TextParameters([("AuthMethod", "Reject")])))
                }
                answer.append("AuthMethod", "None")
                state = .done
            }
        }

        let present = request.pairs.map(\.key).filter { Self.keys.contains($0) }
        for (key, _) in request.pairs where key.hasPrefix("CHAP_") && !Self.keys.contains(key) {
            answer.append(key, "NotUnderstood")
        }
        guard !present.isEmpty else { return .success(answer) }

        let exchange: Result<TextParameters, Failure>
        switch state {
        case .start:
            exchange = .failure(Failure(status: .authenticationFailure,
                                        reason: "\(present.joined(separator: ", ")) before AuthMethod=CHAP was agreed"))
        case .done:
            exchange = .failure(Failure(status: .authenticationFailure,
                                        reason: "\(present.joined(separator: ", ")) after authentication "
                                            + (policy.requiresCHAP ? "completed" : "was agreed to be None")))
        case .awaitingAlgorithm:
            exchange = offerChallenge(request, present: present)
        case let .awaitingResponse(identifier, challenge):
            exchange = verify(request, identifier: identifier, challenge: challenge)
        }
        return exchange.map { TextParameters(answer.pairs + $0.pairs) }
    }

    /// CHAP_A: pick MD5 and send our identifier and challenge.
    private mutating func offerChallenge(_ request: TextParameters, present: [String]) -> Result<TextParameters, Failure> {
        guard let algorithms = request["CHAP_A"], present == ["CHAP_A"] else {
            return .failure(Failure(status: .authenticationFailure,
                                    reason: "expected CHAP_A, got \(present.joined(separator: ", ")) before the target's challenge"))
        }
        let offered = algorithms.split(separator: ",").map { Negotiator.parseNumber(String($0)) }
        guard offered.contains(Self.md5Algorithm) else {
            return .failure(Failure(status: .authenticationFailure,
                                    reason: "initiator offers CHAP_A=\(quoted(algorithms)); only MD5 (5) is supported",
                                    keys: TextParameters([("CHAP_A", "Reject")])))
        }
        var rng = SystemRandomNumberGenerator()
        let identifier = UInt8.random(in: 0...255, using: &rng)
        let challenge = (0..<Self.challengeLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
        state = .awaitingResponse(identifier: identifier, challenge: challenge)
        return .success(TextParameters([("CHAP_A", String(Self.md5Algorithm)), ("CHAP_I", String(identifier)),
                                        ("CHAP_C", BinaryValue.hex(challenge))]))
    }

    /// CHAP_N and CHAP_R, and CHAP_I and CHAP_C when the initiator wants mutual CHAP.
    private mutating func verify(_ request: TextParameters, identifier: UInt8, challenge: [UInt8]) -> Result<TextParameters, Failure> {
        func fail(_ reason: String) -> Result<TextParameters, Failure> {
            .failure(Failure(status: .authenticationFailure, reason: reason))
        }
        guard request["CHAP_A"] == nil else { return fail("CHAP_A sent a second time") }
        guard let name = request["CHAP_N"], let responseText = request["CHAP_R"] else {
            return fail("expected CHAP_N and CHAP_R, got \(request.pairs.map(\.key).filter { Self.keys.contains($0) }.joined(separator: ", "))")
        }
        guard let response = BinaryValue.decode(responseText) else {
            return fail("malformed CHAP_R \(quoted(responseText)) from user \(quoted(name))")
        }

        // The initiator's own challenge, checked before any work on the response.
        var mutual: (identifier: UInt8, challenge: [UInt8])?
        switch (request["CHAP_I"], request["CHAP_C"]) {
        case (nil, nil):
            break
        case let (idText?, challengeText?):
            guard let id = Negotiator.parseNumber(idText), id <= 255 else {
                return fail("malformed CHAP_I \(quoted(idText)) from user \(quoted(name))")
            }
            guard let theirs = BinaryValue.decode(challengeText) else {
                return fail("bad challenge from user \(quoted(name)): malformed CHAP_C \(quoted(challengeText))")
            }
            guard Self.initiatorChallengeLengths.contains(theirs.count) else {
                return fail("bad challenge from user \(quoted(name)): CHAP_C of \(theirs.count) bytes, "
                    + "\(Self.initiatorChallengeLengths.lowerBound) to \(Self.initiatorChallengeLengths.upperBound) accepted")
            }
            // RFC 7143 section 12.1.3: the initiator must not reuse our challenge, and the
            // responder must check for it (a reflected challenge would make us compute the
            // answer to our own challenge for the attacker).
            guard theirs != challenge else {
                return fail("reflection: user \(quoted(name)) sent back the target's own challenge")
            }
            mutual = (UInt8(id), theirs)
        default:
            return fail("user \(quoted(name)) sent only one of CHAP_I and CHAP_C")
        }

        // Unknown user and wrong secret do the same work and give the same answer: an MD5
        // over a dummy secret of the same kind of length, and a constant-time comparison.
        var match: CHAPCredential?
        for credential in policy.incoming where match == nil && credential.name == name {
            match = credential
        }
        let secret = match?.secret ?? [UInt8](repeating: 0, count: policy.incoming.first?.secret.count ?? 16)
        let expected = Self.response(identifier: identifier, secret: secret, challenge: challenge)
        let responseMatches = Self.constantTimeEquals(expected, response)
        guard let user = match, responseMatches else {
            return fail(match == nil ? "unknown CHAP user \(quoted(name))" : "wrong CHAP response for user \(quoted(name))")
        }

        authenticatedUser = user.name
        guard let mutual else {
            state = .done
            return .success(TextParameters())
        }
        guard let outgoing = policy.outgoing else {
            return fail("user \(quoted(name)) asks the target to authenticate itself (mutual CHAP) "
                + "but no outgoing CHAP user is configured")
        }
        state = .done
        let ours = Self.response(identifier: mutual.identifier, secret: outgoing.secret, challenge: mutual.challenge)
        return .success(TextParameters([("CHAP_N", outgoing.name), ("CHAP_R", BinaryValue.hex(ours))]))
    }

    /// RFC 1994 section 4.1: MD5 over the identifier, the secret and the challenge.
    static func response(identifier: UInt8, secret: [UInt8], challenge: [UInt8]) -> [UInt8] {
        var md5 = Insecure.MD5()
        withUnsafeBytes(of: identifier) { md5.update(bufferPointer: $0) }
        secret.withUnsafeBytes { md5.update(bufferPointer: $0) }
        challenge.withUnsafeBytes { md5.update(bufferPointer: $0) }
        return Array(md5.finalize())
    }

    /// Compares without stopping at the first difference, so the time taken does not tell
    /// how much of a guessed response was right.
    static func constantTimeEquals(_ expected: [UInt8], _ actual: [UInt8]) -> Bool {
        var difference: UInt8 = expected.count == actual.count ? 0 : 1
        for i in expected.indices {
            difference |= expected[i] ^ (i < actual.count ? actual[i] : 0)
        }
        return difference == 0
    }
}

/// An initiator-supplied string fit for a log line: quoted, escaped, and cut short.
private func quoted(_ text: String) -> String {
    let cut = text.count > 128 ? String(text.prefix(128)) + "..." : text
    return cut.debugDescription
}

/// RFC 1994's CHAP response, for an initiator's side (the tests' raw client) as well.
public enum CHAPResponse {
    public static func md5(identifier: UInt8, secret: [UInt8], challenge: [UInt8]) -> [UInt8] {
        CHAPAuthenticator.response(identifier: identifier, secret: secret, challenge: challenge)
    }
}
