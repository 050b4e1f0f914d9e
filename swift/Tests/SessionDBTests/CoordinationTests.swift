import Foundation
import Testing
@testable import SessionDB

/// Collects what a coordinator publishes, for assertions.
final class RoleLog: @unchecked Sendable {
    private let lock = NSLock()
    private var roles: [Role] = []

    func append(_ role: Role) {
        lock.lock()
        roles.append(role)
        lock.unlock()
    }

    var all: [Role] {
        lock.lock()
        defer { lock.unlock() }
        return roles
    }

    /// The roles once `count` have arrived (callbacks run on another thread), or as they
    /// are after 30 seconds.
    func waitFor(_ count: Int) -> [Role] {
        let deadline = ContinuousClock.now + .seconds(30)
        while all.count < count, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        return all
    }
}

/// Waits (blocking, in the library) until `db`'s role is `wanted`; returns the role seen last.
func waitForRole(_ db: SessionDatabase, _ wanted: Role, within seconds: Int = 30) throws -> Role? {
    let deadline = ContinuousClock.now + .seconds(seconds)
    var role = try db.currentRole()
    while role != wanted, ContinuousClock.now < deadline {
        role = try db.waitForRoleChange(from: role, timeout: .milliseconds(250))
    }
    return role
}

/// The first role from `stream` that is `wanted`, or nil if the stream ends first.
func first(_ wanted: Role, in stream: AsyncStream<Role>) async -> Role? {
    for await role in stream where role == wanted {
        return role
    }
    return nil
}

@Suite("Writer coordination between two connections in one process", .timeLimit(.minutes(2)))
struct CoordinationTests {
    @Test func firstRegistrantWritesSecondReads() throws {
        let scratch = Scratch()
        let a = try scratch.database()
        let b = try scratch.database()
        #expect(try a.currentRole() == nil)
        #expect(try a.registerWriter(.memexDaemon) == .writer)
        #expect(try b.registerWriter(.vlaudeDaemon) == .reader)
        #expect(try a.currentRole() == .writer)
        #expect(a.isWriter)
        #expect(try b.currentRole() == .reader)
        #expect(!b.isWriter)
        #expect(try b.writerHealth() == .alive)
        try a.heartbeat()

        // Only the writer writes; the reader's write fails with the library's reason.
        try seedSession(a, session: "s1")
        try a.insertMessages([message("m1", "written by the writer")], into: "s1")
        let refused = try #require(caught { try b.insertMessages([message("m2", "not allowed")], into: "s1") })
        #expect(refused.code == .permissionDenied)
        #expect(!refused.message.isEmpty)
        #expect(try b.stats().messages == 1)
        #expect(try b.search("writer").count == 1)   // readers read

        // A reader cannot take over a live writer.
        #expect(try b.tryTakeover() == false)
        #expect(try b.currentRole() == .reader)
    }

    @Test func unregisteredConnectionsCannotHeartbeat() throws {
        let scratch = Scratch()
        let a = try scratch.database()
        let error = try #require(caught { try a.heartbeat() })
        #expect(error.code == .coordinationError)
        #expect(!error.message.isEmpty)
        #expect(caught { _ = try a.tryTakeover() }?.code == .coordinationError)
        try a.releaseWriter()   // nothing to release: no error
    }

    @Test func releaseHandsTheRoleOverAtOnce() throws {
        let scratch = Scratch()
        let a = try scratch.database()
        let b = try scratch.database()
        try a.registerWriter(.memexKit)
        try b.registerWriter(.vlaudeKit)   // equal priority: first come, first served
        #expect(try b.currentRole() == .reader)
        try a.releaseWriter()
        #expect(try a.currentRole() == .reader)
        #expect(try b.writerHealth() == .released)
        #expect(try b.tryTakeover())
        #expect(try b.currentRole() == .writer)
        #expect(try a.writerHealth() == .alive)
        try seedSession(b, session: "s1")
        #expect(caught { _ = try a.upsertProject(name: "x", path: "/x", source: "claude") }?.code
            == .permissionDenied)
    }

    @Test func higherPriorityPreemptsAndTheOldWriterLearnsIt() throws {
        let scratch = Scratch()
        let daemon = try scratch.database()
        let kit = try scratch.database()
        #expect(try daemon.registerWriter(.vlaudeDaemon) == .writer)
        #expect(try kit.registerWriter(.vlaudeKit) == .writer)
        let error = try #require(caught { try daemon.heartbeat() })
        #expect(error.code == .permissionDenied)
        #expect(!error.message.isEmpty)
        #expect(try daemon.currentRole() == .reader)
    }

    @Test func closingTheWriterLetsAReaderTakeOver() throws {
        let scratch = Scratch()
        var a: SessionDatabase? = try scratch.database()
        let b = try scratch.database()
        try a!.registerWriter(.memexDaemon)
        try b.registerWriter(.memexDaemon)
        a = nil   // released: closes the connection, which gives up the role
        #expect(try b.writerHealth() == .released)
        #expect(try b.tryTakeover())
    }

    @Test func singleStepsRegisterHeartbeatAndTakeOver() throws {
        let scratch = Scratch()
        let a = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let b = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        #expect(try a.coordinationStep(.memexKit) == .writer)
        #expect(try b.coordinationStep(.memexKit) == .reader)
        #expect(try a.coordinationStep(.memexKit) == .writer)   // a heartbeat round
        try a.releaseWriter()
        #expect(try b.coordinationStep(.memexKit) == .writer)   // sees the release, takes over
    }

    @Test func coordinatorStepsDrivenByTheApp() throws {
        let scratch = Scratch()
        let a = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let b = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let log = RoleLog()
        let writer = WriterCoordinator(database: a, writerType: .memexDaemon)
        let reader = WriterCoordinator(database: b, writerType: .memexDaemon, onRoleChange: { log.append($0) })
        #expect(try writer.step() == .writer)
        #expect(try reader.step() == .reader)
        #expect(try writer.step() == .writer)   // heartbeat round
        #expect(!reader.isRunning)              // nothing runs in the background
        try a.releaseWriter()
        #expect(try reader.step() == .writer)
        #expect(reader.role == .writer)
        #expect(log.all == [.reader, .writer])
    }

    @Test func aCallbackMayStopItsCoordinator() async throws {
        let scratch = Scratch()
        let a = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let b = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        final class Holder: @unchecked Sendable {
            weak var coordinator: WriterCoordinator?
        }
        let holder = Holder()
        let log = RoleLog()
        let writer = WriterCoordinator(database: a, writerType: .vlaudeKit)
        let reader = WriterCoordinator(database: b, writerType: .memexKit, onRoleChange: { role in
            log.append(role)
            if role == .writer {
                try? holder.coordinator?.stop(release: false)   // on the watcher thread
            }
        })
        holder.coordinator = reader
        let changes = reader.roleChanges()
        try writer.start()
        try reader.start()
        try writer.stop()
        var seen: [Role] = []
        for await role in changes { seen.append(role) }   // ends because the callback stopped it
        #expect(seen == [.reader, .writer])
        #expect(log.waitFor(2) == [.reader, .writer])
        #expect(!reader.isRunning)
        #expect(try b.currentRole() == .writer)   // stopped without releasing
    }

    @Test func coordinatorTakesOverAfterRelease() async throws {
        let scratch = Scratch()
        let a = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let b = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let log = RoleLog()
        let writer = WriterCoordinator(database: a, writerType: .memexKit)
        let reader = WriterCoordinator(database: b, writerType: .vlaudeKit, onRoleChange: { log.append($0) })
        #expect(reader.role == nil)
        #expect(!reader.isRunning)
        let changes = reader.roleChanges()
        #expect(try writer.start() == .writer)
        #expect(try reader.start() == .reader)
        #expect(writer.isRunning && reader.isRunning)
        #expect(writer.role == .writer)
        #expect(try writer.start() == .writer)   // starting again changes nothing

        try writer.stop()   // releases: the reader takes over without waiting for a timeout
        #expect(!writer.isRunning)
        #expect(try a.currentRole() == .reader)
        #expect(await first(.writer, in: changes) == .writer)
        #expect(reader.role == .writer)
        #expect(log.waitFor(2) == [.reader, .writer])
        try seedSession(b, session: "s1")
        try b.insertMessages([message("m1", "the new writer writes")], into: "s1")
        try reader.stop()
        #expect(try b.currentRole() == .reader)
        #expect(log.all == [.reader, .writer, .reader])
    }

    @Test func coordinatorTakesOverWhenTheWriterStopsHeartbeating() async throws {
        let scratch = Scratch()
        let a = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let b = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let writer = WriterCoordinator(database: a, writerType: .vlaudeDaemon)
        let reader = WriterCoordinator(database: b, writerType: .memexDaemon)
        #expect(try writer.start() == .writer)
        let changes = reader.roleChanges()
        #expect(try reader.start() == .reader)
        #expect(try b.writerHealth() == .alive)

        // The writer's program hangs: its loop stops, its connection stays registered.
        try writer.stop(release: false)
        #expect(try a.currentRole() == .writer)   // it does not know yet

        // The reader confirms the stale heartbeat and takes over.
        #expect(await first(.writer, in: changes) == .writer)
        #expect(try b.currentRole() == .writer)

        // The old writer's next write is refused: it learns it is a reader now.
        try seedSession(b, session: "s1")
        let refused = try #require(caught { try a.insertMessages([message("late", "from the old writer")],
                                                                into: "s1") })
        #expect(refused.code == .permissionDenied)
        #expect(!refused.message.isEmpty)
        #expect(try a.currentRole() == .reader)
        #expect(try b.messages(sessionID: "s1").isEmpty)
        try reader.stop()
    }

    @Test func coordinatorPublishesADemotion() async throws {
        let scratch = Scratch()
        let a = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let b = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let daemon = WriterCoordinator(database: a, writerType: .memexDaemon)
        let changes = daemon.roleChanges()
        #expect(try daemon.start() == .writer)
        #expect(try b.registerWriter(.memexKit) == .writer)   // higher priority preempts
        #expect(await first(.reader, in: changes) == .reader)
        #expect(daemon.role == .reader)
        try daemon.stop()
        // The stream ends when the coordinator stops.
        var rest: [Role] = []
        for await role in changes { rest.append(role) }
        #expect(rest.allSatisfy { $0 == .reader })
    }

    @Test func closingTheConnectionEndsTheCoordinator() async throws {
        let scratch = Scratch()
        let a = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let b = try scratch.database(options: ConnectionOptions(coordination: quickTimings))
        let coordinator = WriterCoordinator(database: a, writerType: .memexKit)
        let changes = coordinator.roleChanges()
        try coordinator.start()
        a.close()
        var seen: [Role] = []
        for await role in changes { seen.append(role) }   // finishes once the connection is gone
        #expect(seen.first == .writer)
        #expect(try b.registerWriter(.memexDaemon) == .writer)   // the role was given up
    }

    @Test func blockingWaitSeesAPromotion() throws {
        let scratch = Scratch()
        let a = try scratch.database()
        let b = try scratch.database()
        try a.registerWriter(.memexDaemon)
        try b.registerWriter(.memexDaemon)
        #expect(try b.waitForRoleChange(from: .reader, timeout: .milliseconds(50)) == .reader)
        try a.releaseWriter()
        try b.tryTakeover()
        #expect(try waitForRole(b, .writer) == .writer)
    }
}
