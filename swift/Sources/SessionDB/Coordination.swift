internal import CSessionDB

/// Writer coordination: one writer at a time among every program sharing the file.
///
/// Most programs want a ``WriterCoordinator``, which runs these steps by itself. The
/// single steps are here for programs that drive coordination from their own timer.
extension SessionDatabase {
    /// Registers this connection as a writer of `type`. It becomes the writer when there
    /// is none, when its priority is higher than the writer's, or when the writer is
    /// gone; otherwise it is a reader.
    @discardableResult
    public func registerWriter(_ type: WriterType) throws(SessionDBError) -> Role {
        var role: Int32 = -1
        try check(session_db_register_writer(handle, type.rawValue, &role), "session_db_register_writer")
        return try knownRole(role, "session_db_register_writer")
    }

    /// Proves this connection is still the writer. Throws
    /// ``SessionDBError/Code/permissionDenied`` when another program took the role over
    /// (this connection is a reader then).
    public func heartbeat() throws(SessionDBError) {
        try check(session_db_heartbeat(handle), "session_db_heartbeat")
    }

    /// Gives up the writer role at once so a reader can take over. Does nothing when
    /// this connection is not the writer.
    public func releaseWriter() throws(SessionDBError) {
        try check(session_db_release_writer(handle), "session_db_release_writer")
    }

    /// The health of the current writer. Each check that finds a stale heartbeat counts
    /// toward confirming the writer dead.
    public func writerHealth() throws(SessionDBError) -> WriterHealth {
        var health: Int32 = 0
        try check(session_db_check_writer_health(handle, &health), "session_db_check_writer_health")
        guard let known = WriterHealth(rawValue: health) else {
            throw SessionDBError(code: .unknown, message: "the library reported writer health \(health)",
                                 function: "session_db_check_writer_health")
        }
        return known
    }

    /// Takes over the writer role if the writer is gone (released, its process ended, or
    /// its heartbeat confirmed stale). Racing readers cannot both win.
    ///
    /// - Returns: true when this connection is now the writer.
    @discardableResult
    public func tryTakeover() throws(SessionDBError) -> Bool {
        var taken: Int32 = 0
        try check(session_db_try_takeover(handle, &taken), "session_db_try_takeover")
        return taken != 0
    }

    /// This connection's role as last seen; nil when it never registered.
    public func currentRole() throws(SessionDBError) -> Role? {
        var role: Int32 = -1
        try check(session_db_current_role(handle, &role), "session_db_current_role")
        return role < 0 ? nil : try knownRole(role, "session_db_current_role")
    }

    /// True when this connection is the writer (as last seen).
    public var isWriter: Bool {
        (try? currentRole()) == .writer
    }

    /// Waits up to `timeout` for this connection's role to differ from `known`, and
    /// returns the role then (equal to `known` when the time ran out).
    public func waitForRoleChange(from known: Role?, timeout: Duration) throws(SessionDBError) -> Role? {
        let function = "session_db_wait_role_change"
        let (seconds, attoseconds) = timeout.components
        let ms = max(0, min(Int64(UInt32.max), seconds.multipliedReportingOverflow(by: 1000).partialValue
                                + attoseconds / 1_000_000_000_000_000))
        var role: Int32 = known?.rawValue ?? -1
        try check(session_db_wait_role_change(handle, known?.rawValue ?? -1, UInt32(ms), &role), function)
        return role < 0 ? nil : try knownRole(role, function)
    }

    /// One round of the coordinator loop for `type`: registers the first time, then
    /// heartbeats while writer, or checks the writer and takes over when it is gone.
    /// Call it every heartbeat interval from your own timer, or use a
    /// ``WriterCoordinator``.
    @discardableResult
    public func coordinationStep(_ type: WriterType) throws(SessionDBError) -> Role {
        var role: Int32 = -1
        try check(session_db_coordinator_step(handle, type.rawValue, &role), "session_db_coordinator_step")
        return try knownRole(role, "session_db_coordinator_step")
    }

    func knownRole(_ value: Int32, _ function: String) throws(SessionDBError) -> Role {
        guard let role = Role(rawValue: value) else {
            throw SessionDBError(code: .unknown, message: "the library reported role \(value)", function: function)
        }
        return role
    }
}
