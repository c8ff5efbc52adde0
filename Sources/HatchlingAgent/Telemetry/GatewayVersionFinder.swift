import FleetProtocol
import FoundationEssentials
import HatchlingSystem
import Logging
import Synchronization

/// Finds the gateway's version once and caches it: `OPENCLAW_VERSION`, else the installed openclaw
/// package's `package.json`, else `openclaw --version` (3 s at most). Only a version-looking token
/// ever leaves here, never the file or the program's output.
public final class GatewayVersionFinder: Sendable {
    /// Where npm installs global packages on the images we ship, and on developer machines.
    public static let defaultPackageJSONPaths = [
        "/usr/local/lib/node_modules/openclaw/package.json",
        "/usr/lib/node_modules/openclaw/package.json",
        "/opt/openclaw/package.json",
    ]

    private let packageJSONPaths: [String]
    private let program: String
    private let readFile: @Sendable (String) -> Result<[UInt8], FileReadError>
    private let cache = Mutex<Cached?>(nil)

    private struct Cached {
        var override: String?
        var version: String?
    }

    public init(
        packageJSONPaths: [String] = GatewayVersionFinder.defaultPackageJSONPaths, program: String = "openclaw",
        readFile: @escaping @Sendable (String) -> Result<[UInt8], FileReadError> = { SafeFile.read($0, limit: 1 << 20) }
    ) {
        self.packageJSONPaths = packageJSONPaths
        self.program = program
        self.readFile = readFile
    }

    /// The version if it was already found for this `override` (`.some(nil)`: looked for, none).
    public func cachedVersion(override: String?) -> String?? {
        if let override { return .some(override) }
        guard let cached = cache.withLock({ $0 }), cached.override == nil else { return nil }
        return .some(cached.version)
    }

    /// The version, found at most once per distinct `override` (a reload may set OPENCLAW_VERSION).
    /// May run a program (for up to 3 s): call it on the I/O worker.
    public func version(override: String?) -> String? {
        if let cached = cache.withLock({ $0 }), cached.override == override { return cached.version }
        let found: String?
        if let override {
            found = override
        } else if let fromPackage = packageJSONPaths.lazy.compactMap({ self.versionFromPackageJSON($0) }).first {
            found = fromPackage
        } else {
            found = { () -> String? in
                // Only a program no one else could have changed, and never with the agent's
                // environment (TrustedExecutable).
                let searchPath = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
                switch TrustedExecutable.find(program, searchPath: searchPath) {
                case .found(let path):
                    return ProcessRunner.output(of: path, arguments: ["--version"], environment: TrustedExecutable.environment, timeout: 3)
                        .flatMap(VersionText.firstVersion(in:))
                case .notFound:
                    return nil
                case .untrusted(let why):
                    Logger(label: "hatchling-agent").warning(
                        "gateway version: not running \(why); the version is reported as unknown (set OPENCLAW_VERSION)")
                    return nil
                }
            }()
        }
        cache.withLock { $0 = Cached(override: override, version: found) }
        return found
    }

    private struct PackageJSON: Decodable {
        var name: String?
        var version: String
    }

    func versionFromPackageJSON(_ path: String) -> String? {
        guard let bytes = try? readFile(path).get(), let package = try? JSONDecoder().decode(PackageJSON.self, from: Data(bytes)),
            VersionText.isVersionLike(package.version)
        else { return nil }
        return package.version
    }
}
