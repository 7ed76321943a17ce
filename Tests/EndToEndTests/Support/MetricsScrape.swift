// The metrics endpoint from the outside: a plain HTTP/1.1 GET over a socket (no client
// library), and the samples of a Prometheus text page.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: String
}

/// GET `path` from 127.0.0.1:`port` with `Connection: close`; nil when nothing answers.
func httpGet(port: UInt16, path: String, method: String = "GET", timeoutSeconds: Int = 30) -> HTTPAnswer? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        bytes += chunk[..<n]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { return nil }
    let headLines = text[..<split.lowerBound].components(separatedBy: "\r\n")
    guard let statusLine = headLines.first, statusLine.hasPrefix("HTTP/1.1 "),
          let status = Int(statusLine.dropFirst(9).prefix(3)) else { return nil }
    var headers: [String: String] = [:]
    for line in headLines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return HTTPAnswer(status: status, headers: headers, body: String(text[split.upperBound...]))
}

/// The samples of one `/metrics` page: name plus labels -> value.
struct MetricsPage {
    let text: String

    /// The value of the sample `name` whose labels include all of `labels`; nil when there
    /// is none. Fails loudly (nil) on two matches, so a test cannot read the wrong series.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matches = samples.filter { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }
        return matches.count == 1 ? matches[0].value : nil
    }

    var samples: [(name: String, labels: [String: String], value: Double)] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "),
                  let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return (String(series), [:], value) }
            var labels: [String: String] = [:]
            // Label values in these tests hold no escaped quotes or commas.
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                guard let eq = pair.firstIndex(of: "=") else { continue }
                labels[String(pair[..<eq])] = String(pair[pair.index(eq, offsetBy: 2)..<pair.index(before: pair.endIndex)])
            }
            return (String(series[..<brace]), labels, value)
        }
    }
}

extension TargeProcess {
    /// The metrics port from the `metrics on http://HOST:PORT/metrics` line.
    var metricsPort: UInt16? {
        let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        for line in out.split(separator: "\n") where line.hasPrefix("metrics on http://") {
            let rest = line.dropFirst("metrics on http://".count)
            guard let slash = rest.firstIndex(of: "/"), let colon = rest[..<slash].lastIndex(of: ":") else { continue }
            return UInt16(rest[rest.index(after: colon)..<slash])
        }
        return nil
    }

    /// One scrape of `/metrics`.
    func scrape() throws -> MetricsPage {
        guard let port = metricsPort else { throw E2EError("targe printed no `metrics on` line\n\(diagnostics)") }
        guard let answer = httpGet(port: port, path: "/metrics"), answer.status == 200 else {
            throw E2EError("GET /metrics failed\n\(diagnostics)")
        }
        return MetricsPage(text: answer.body)
    }
}
