// swift-tools-version: 6.0
// An app using SessionDB: the example of the README, built and run by tests/test_swift.py.
import PackageDescription

let package = Package(
    name: "Notes",
    platforms: [.macOS(.v13)],
    dependencies: [.package(path: "../..")],   // in your app: the path of this repository's swift/
    targets: [
        .executableTarget(name: "Notes", dependencies: [.product(name: "SessionDB", package: "swift")]),
    ]
)
