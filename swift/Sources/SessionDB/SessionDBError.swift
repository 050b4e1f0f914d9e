/// An error from libsessiondb, or from this package before it called the library.
///
/// `code` says what kind of failure it was; `message` is the library's own explanation
/// (`session_db_last_error()`), read on the thread that made the failing call.
public struct SessionDBError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of failure, with the C ABI's `enum SessionDbError` values.
    public enum Code: Int32, Sendable, Hashable, CaseIterable {
        /// A required pointer was NULL, or the handle is closed or unknown.
        case nullPointer = 1
        /// A string was not valid UTF-8.
        case invalidUTF8 = 2
        /// SQLite failed, or the request cannot be done on this data.
        case databaseError = 3
        /// Writer coordination failed (never registered, registry unreadable, ...).
        case coordinationError = 4
        /// This handle may not write: another program is the writer, or it is read-only.
        case permissionDenied = 5
        /// Anything else: an out-of-range value, the library could not start, ...
        case unknown = 99
        /// Refused by this package before calling the library (for example a string
        /// with a NUL character, which a C string cannot carry). Not a C ABI value.
        case invalidArgument = -1
    }

    /// What kind of failure this is.
    public let code: Code
    /// The status the C function returned (equal to `code.rawValue` for known codes).
    public let status: Int32
    /// The library's message: what failed and why.
    public let message: String
    /// The C function (or Swift method) that failed.
    public let function: String

    public init(code: Code, message: String, function: String, status: Int32? = nil) {
        self.code = code
        self.status = status ?? code.rawValue
        self.message = message
        self.function = function
    }

    public var description: String {
        if message.isEmpty {
            return "\(function): failed with status \(status) [\(code)]"
        }
        // The library's messages usually name the function already.
        return message.hasPrefix(function) ? "\(message) [\(code)]" : "\(function): \(message) [\(code)]"
    }
}
