// swift-tools-version: 6.0
//
// Two Swift clients of libsessiondb's C ABI, one per header, each calling every function
// of the upstream ABI (ai_cli_session_db.h, as the ETerm plugins use it) including the
// agent client end to end; tests/test_swift.py builds and runs them. Both modules link
// "sessiondb" and find the headers through pkg-config (sessiondb.pc).
//
// The executables run without LD_LIBRARY_PATH once the library is linked beside them:
//
//     PKG_CONFIG_PATH=$(python -m sessiondb --pkgconfigdir) swift build
//     python -m sessiondb --link-library .build/debug      # SwiftPM's rpath $ORIGIN finds it there
//     .build/debug/UpstreamHeaderClient WORKDIR
import PackageDescription

let package = Package(
    name: "UpstreamClients",
    targets: [
        // ai_cli_session_db.h: the upstream ABI and its layouts.
        .systemLibrary(name: "CUpstreamABI", pkgConfig: "sessiondb"),
        // sessiondb.h: the original ABI, the upstream additions, the v2 layout functions.
        .systemLibrary(name: "COriginalABI", pkgConfig: "sessiondb"),
        .executableTarget(name: "UpstreamHeaderClient", dependencies: ["CUpstreamABI"]),
        .executableTarget(name: "SessionDBHeaderClient", dependencies: ["COriginalABI"]),
    ],
    swiftLanguageModes: [.v6]
)
