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
    /// Reads into a stack buffer first: almost every kernel file fits, so no heap growth.
    public func read(_ absolute: String, limit: Int = 256 * 1024) -> String? {
        let fd = path(absolute).withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { buffer -> String? in
            var bytes: [UInt8] = []
            while bytes.count < limit {
                let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if count < 0 {
                    if errno == EINTR { continue }
                    return nil
                }
                if count == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                if bytes.isEmpty && count < buffer.count {
                    // One short read is usually the whole file; check for the end without copying.
                    let more = Glibc.read(fd, buffer.baseAddress! + count, buffer.count - count)
                    if more == 0 { return String(decoding: chunk, as: UTF8.self) }
                    if more < 0 { return nil }
                    bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<(count + more)]))
                    continue
                }
                bytes.append(contentsOf: chunk)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
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
