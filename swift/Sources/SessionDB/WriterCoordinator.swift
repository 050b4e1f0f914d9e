import Foundation
internal import CSessionDB

/// Keeps a connection's writer role up to date by itself and tells you when it changes.
///
/// ``start()`` registers the connection as a writer of its type and starts the library's
/// coordination loop on a background thread: while writer it heartbeats every interval;
/// while reader it watches the writer and takes over when the writer releases the role,
/// its process ends, or its heartbeat stands still past the timeout. Every role change
/// (including a demotion found by a refused write) is published to ``roleChanges()``
/// streams and to the `onRoleChange` callback.
///
/// ```swift
/// let db = try SessionDatabase()
/// let coordinator = WriterCoordinator(database: db, writerType: .vlaudeKit)
/// try coordinator.start()
/// for await role in coordinator.roleChanges() {
///     if role == .writer { /* collect */ }
/// }
/// ```
///
/// Use one coordinator per connection. ``stop(release:)`` ends the loop (and by default
/// hands the role over at once); so does closing the connection.
public final class WriterCoordinator: @unchecked Sendable {
    // @unchecked: mutable state lives in `RoleBroadcast` and `WatchControl`, both locked.
    public let database: SessionDatabase
    public let writerType: WriterType
    private let broadcast: RoleBroadcast
    private let control = WatchControl()

    /// - Parameter onRoleChange: called with each new role, in order, on the thread that
    ///   noticed the change (the coordinator's watcher thread, or the caller of
    ///   ``start()``/``step()``/``stop(release:)``). Keep it short; it may call ``stop(release:)``.
    ///   Capture the coordinator weakly in it, or it keeps the coordinator alive.
    public init(database: SessionDatabase, writerType: WriterType,
                onRoleChange: (@Sendable (Role) -> Void)? = nil) {
        self.database = database
        self.writerType = writerType
        self.broadcast = RoleBroadcast(callback: onRoleChange)
    }

    deinit {
        if control.requestStop() {
            session_db_coordinator_stop(database.handle, true)
            if !control.onWatcherThread {
                control.waitForExit()
            }
        }
        broadcast.finish()
    }

    /// The role last published (nil before the first round).
    public var role: Role? { broadcast.current }

    /// True between ``start()`` and ``stop(release:)``.
    public var isRunning: Bool { control.isRunning }

    /// A stream of roles: the current one first (when known), then every change, until
    /// the coordinator stops or the connection closes.
    public func roleChanges() -> AsyncStream<Role> {
        broadcast.subscribe()
    }

    /// Registers now (errors are thrown here) and keeps coordinating in the background.
    /// Starting a running coordinator does nothing.
    ///
    /// - Returns: the role after the first round.
    @discardableResult
    public func start() throws(SessionDBError) -> Role {
        var raw: Int32 = -1
        try check(session_db_coordinator_start(database.handle, writerType.rawValue, &raw),
                  "session_db_coordinator_start")
        let role = try database.knownRole(raw, "session_db_coordinator_start")
        if control.begin() {
            let database = self.database, broadcast = self.broadcast, control = self.control, first = raw
            let watcher = Thread {
                Self.watch(database: database, broadcast: broadcast, control: control, from: first)
            }
            watcher.name = "sessiondb-role-watch"
            watcher.start()
        }
        broadcast.publish(role)   // after the watcher runs, so a callback may stop the coordinator
        return role
    }

    /// One coordination round now, for programs that run their own timer instead of
    /// ``start()``.
    @discardableResult
    public func step() throws(SessionDBError) -> Role {
        let role = try database.coordinationStep(writerType)
        broadcast.publish(role)
        return role
    }

    /// Stops the loop and finishes the ``roleChanges()`` streams. With `release` (the
    /// default) the writer role is given up so a reader takes over at once; without it
    /// the connection stays registered and simply stops heartbeating, so readers take
    /// over once its heartbeat is confirmed stale.
    public func stop(release: Bool = true) throws(SessionDBError) {
        let wasRunning = control.requestStop()
        let status = session_db_coordinator_stop(database.handle, release)
        let failure = status == Success ? nil : lastError(status: status.rawValue, function: "session_db_coordinator_stop")
        if wasRunning && !control.onWatcherThread {
            control.waitForExit()   // (a callback on the watcher thread cannot wait for itself)
        }
        if let role = try? database.currentRole() {
            broadcast.publish(role)
        }
        broadcast.finish()
        if let failure {
            throw failure
        }
    }

    /// The watcher thread: blocks in the library until the role changes, publishes it.
    private static func watch(database: SessionDatabase, broadcast: RoleBroadcast, control: WatchControl,
                              from start: Int32) {
        control.enterWatcher()
        defer { control.didExit() }
        var known = start
        while control.isRunning {
            var now: Int32 = known
            let status = session_db_wait_role_change(database.handle, known, 200, &now)
            if status != Success {
                broadcast.finish()   // the connection was closed
                return
            }
            if now != known {
                known = now
                if let role = Role(rawValue: now) {
                    broadcast.publish(role)
                }
            }
        }
    }
}

/// The last published role and who listens for changes.
final class RoleBroadcast: @unchecked Sendable {
    // @unchecked: every field is guarded by `lock`; `delivery` keeps callbacks in order.
    private let lock = NSLock()
    private let delivery = NSRecursiveLock()
    private let callback: (@Sendable (Role) -> Void)?
    private var published: Role?
    private var subscribers: [Int: AsyncStream<Role>.Continuation] = [:]
    private var nextSubscriber = 0

    init(callback: (@Sendable (Role) -> Void)?) {
        self.callback = callback
    }

    var current: Role? {
        lock.lock()
        defer { lock.unlock() }
        return published
    }

    func subscribe() -> AsyncStream<Role> {
        let (stream, continuation) = AsyncStream<Role>.makeStream(bufferingPolicy: .unbounded)
        lock.lock()
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        let role = published
        lock.unlock()
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        if let role {
            continuation.yield(role)
        }
        return stream
    }

    /// Tells everyone about `role` if it differs from the last one published.
    func publish(_ role: Role) {
        delivery.lock()
        defer { delivery.unlock() }
        lock.lock()
        guard role != published else {
            lock.unlock()
            return
        }
        published = role
        let listeners = Array(subscribers.values)
        lock.unlock()
        for continuation in listeners {
            continuation.yield(role)
        }
        callback?(role)   // after the streams, so a callback that stops the coordinator loses nothing
    }

    func finish() {
        lock.lock()
        let listeners = Array(subscribers.values)
        subscribers.removeAll()
        lock.unlock()
        for continuation in listeners {
            continuation.finish()
        }
    }

    private func unsubscribe(_ id: Int) {
        lock.lock()
        subscribers[id] = nil
        lock.unlock()
    }
}

/// Start and stop of the watcher thread.
final class WatchControl: @unchecked Sendable {
    // @unchecked: `running`, `watching` and `watcher` are guarded by `condition`.
    private let condition = NSCondition()
    private var running = false
    private var watching = false
    private var watcher: Thread?

    /// Called by the watcher thread when it begins.
    func enterWatcher() {
        condition.lock()
        watcher = Thread.current
        condition.unlock()
    }

    /// True on the watcher thread (a role-change callback runs there).
    var onWatcherThread: Bool {
        condition.lock()
        defer { condition.unlock() }
        return watcher.map { $0 === Thread.current } ?? false
    }

    var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    /// Marks the loop running; true when a watcher thread should be started.
    func begin() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if running { return false }
        if watching, watcher === Thread.current {
            running = true   // restarted from a callback: the current watcher carries on
            return false
        }
        // A watcher from an earlier run may still be finishing: wait for it.
        while watching { condition.wait() }
        running = true
        watching = true
        return true
    }

    /// Asks the watcher to end; true when it was running.
    func requestStop() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let was = running
        running = false
        return was
    }

    func didExit() {
        condition.lock()
        watching = false
        running = false
        watcher = nil
        condition.broadcast()
        condition.unlock()
    }

    func waitForExit() {
        condition.lock()
        while watching { condition.wait() }
        condition.unlock()
    }
}
