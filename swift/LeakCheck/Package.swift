// swift-tools-version: 6.0
// Calls every API that receives memory from the library, many times; tests/test_swift.py
// runs it under valgrind to prove every C allocation is freed.
import PackageDescription

let package = Package(
    name: "LeakCheck",
    platforms: [.macOS(.v13)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(name: "LeakCheck", dependencies: [.product(name: "SessionDB", package: "swift")]),
    ]
)
