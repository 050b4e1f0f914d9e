// Conversions between Swift values and the C ABI. Internal: no C type leaves the module.
internal import CSessionDB

/// The error for a failed status, with the calling thread's last-error message.
///
/// Must run on the thread that made the call, before any other library call.
func lastError(status: UInt32, function: String) -> SessionDBError {
    let raw = Int32(bitPattern: status)
    let message = String(cString: session_db_last_error())
    return SessionDBError(code: SessionDBError.Code(rawValue: raw) ?? .unknown, message: message,
                          function: function, status: raw)
}

/// Throws unless `status` is `Success`.
@inline(__always)
func check(_ status: CSessionDB.SessionDbError, _ function: String) throws(SessionDBError) {
    if status != Success {
        throw lastError(status: status.rawValue, function: function)
    }
}

/// The calling thread's last error as it stands, so a NULL return can be told apart
/// from an earlier failure that left the same state.
struct LastErrorMark: Equatable {
    let code: UInt32
    let message: String

    static func now() -> LastErrorMark {
        LastErrorMark(code: session_db_last_error_code().rawValue,
                      message: String(cString: session_db_last_error()))
    }
}

/// Refuses strings a C string cannot carry whole (an embedded NUL would cut them short).
func cText(_ value: String, _ name: String, _ function: String) throws(SessionDBError) -> String {
    if value.utf8.contains(0) {
        throw SessionDBError(code: .invalidArgument, message: "\(name) contains a NUL character",
                             function: function)
    }
    return value
}

func cText(_ value: String?, _ name: String, _ function: String) throws(SessionDBError) -> String? {
    guard let value else { return nil }
    let checked: String = try cText(value, name, function)
    return checked
}

/// Calls `body` with a C string for `value`, or NULL when `value` is nil.
func withOptionalCString<R>(_ value: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let value else { return body(nil) }
    return value.withCString { body($0) }
}

/// A library string as Swift text (nil for NULL).
func text(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

/// The elements of a C array as a Swift array, converted one by one.
func elements<C, T>(_ data: UnsafeMutablePointer<C>?, _ count: UInt, _ convert: (C) -> T) -> [T] {
    guard let data, count > 0 else { return [] }
    return UnsafeBufferPointer(start: data, count: Int(count)).map(convert)
}

/// Swift's `Int` count as the C ABI's `uintptr_t`, refusing negatives.
func cCount(_ value: Int, _ name: String, _ function: String) throws(SessionDBError) -> UInt {
    guard value >= 0 else {
        throw SessionDBError(code: .invalidArgument, message: "\(name) must not be negative (got \(value))",
                             function: function)
    }
    return UInt(value)
}

/// -1 (the C ABI's "none") as nil.
func optionalTimestamp(_ value: Int64) -> Int64? {
    value < 0 ? nil : value
}
