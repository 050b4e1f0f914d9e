// swift-tools-version: 6.0
//
// SessionDB: Swift access to libsessiondb, the shared database of AI coding-CLI sessions.
//
// The C library is found through pkg-config (name "sessiondb"). With the Python package
// installed (pip install ai-cli-session-db), point pkg-config and the loader at it:
//
//     export PKG_CONFIG_PATH=$(python -m sessiondb --pkgconfigdir)
//     export LD_LIBRARY_PATH=$(python -m sessiondb --libdir)
//     swift build && swift test
import PackageDescription

let package = Package(
    name: "SessionDB",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SessionDB", targets: ["SessionDB"]),
    ],
    targets: [
        // The C ABI (sessiondb.h), linked against libsessiondb.
        .systemLibrary(
            name: "CSessionDB",
            pkgConfig: "sessiondb"
        ),
        // The Swift API over it: value types, typed errors, no C pointers.
        .target(
            name: "SessionDB",
            dependencies: ["CSessionDB"]
        ),
        .testTarget(
            name: "SessionDBTests",
            dependencies: ["SessionDB"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
