#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads kernel files below a root (`/` in production, a fixture tree in tests). Plain
/// open/read/close: no program is ever run to collect a figure.
public struct SystemFiles: Sendable {
    /// The directory that stands for `/`.
    public var root: String

    public init(root: String = "/") {
        self.root = root
    }

    /// The path of `absolute` below the root.
    public func path(_ absolute: String) -> String {
        root == "/" ? absolute : root + absolute
    }

    /// The file's text, or nil when it cannot be opened or read. At most `limit` bytes.
    public func read(_ absolute: String, limit: Int = 256 * 1024) -> String? {
        let fd = path(absolute).withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// How many entries a directory has besides `.` and `..` (for `/proc/self/fd`); nil if unreadable.
    public func countEntries(_ absolute: String) -> UInt64? {
        guard let directory = path(absolute).withCString({ opendir($0) }) else { return nil }
        defer { closedir(directory) }
        var count: UInt64 = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return count
    }

    /// Total and available bytes of the file system holding `absolute` (`statvfs`).
    public func fileSystemSpace(_ absolute: String) -> (total: UInt64, available: UInt64)? {
        var info = statvfs()
        // `statvfs` names both the struct and the call; the annotation picks the call.
        let call: (UnsafePointer<CChar>, UnsafeMutablePointer<statvfs>) -> Int32 = statvfs
        let code = path(absolute).withCString { call($0, &info) }
        guard code == 0 else { return nil }
        let fragment = UInt64(info.f_frsize != 0 ? info.f_frsize : info.f_bsize)
        return (UInt64(info.f_blocks) * fragment, UInt64(info.f_bavail) * fragment)
    }
}
