/// Why an answer was refused; the prompt shows `message` and asks again.
struct InputError: Error, Equatable {
    let message: String

    init(_ message: String) {
        self.message = message
    }
}
