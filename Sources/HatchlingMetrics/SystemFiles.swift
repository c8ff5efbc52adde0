#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

import Synchronization

/// Reads kernel files below a root (`/` in production, a fixture tree in tests). Plain system
/// calls: no program is ever run to collect a figure.
///
/// With `keepingKernelFilesOpen`, files under `/proc` and `/sys` stay open after their first read
/// and are read again with one `pread` at offset 0, which makes the kernel generate them afresh:
/// one system call per file and collection instead of four (open, read, read to see the end,
/// close), and no path lookup. A heartbeat's figures then cost about a dozen descriptors, kept for the life
/// of the collector (closed with it). A read that fails on a kept descriptor (a process gone, a
/// cgroup removed) closes it and opens the file again.
public struct SystemFiles: Sendable {
    /// The directory that stands for `/`.
    public var root: String
    private let openFiles: OpenFiles?

    public init(root: String = "/", keepingKernelFilesOpen: Bool = false) {
        self.root = root
        self.openFiles = keepingKernelFilesOpen ? OpenFiles() : nil
    }

    /// The path of `absolute` below the root.
    public func path(_ absolute: String) -> String {
        root == "/" ? absolute : root + absolute
    }

    /// How many kernel files are being kept open.
    public var keptOpen: Int { openFiles?.count ?? 0 }

    /// The file's text, or nil when it cannot be opened or read. At most `limit` bytes.
    /// `keepOpen: false` for a file read once (it is not worth a descriptor).
    public func read(_ absolute: String, limit: Int = 256 * 1024, keepOpen: Bool = true) -> String? {
        if keepOpen, let openFiles, absolute.hasPrefix("/proc/") || absolute.hasPrefix("/sys/") {
            let full = path(absolute)
            if let fd = openFiles.descriptor(for: full) {
                if let text = Self.read(fd: fd, limit: limit) { return text }
                openFiles.discard(fd, for: full)
            }
            guard let fd = Self.open(full) else { return nil }
            guard let text = Self.read(fd: fd, limit: limit) else {
                close(fd)
                return nil
            }
            openFiles.keep(fd, for: full)
            return text
        }
        guard let fd = Self.open(path(absolute)) else { return nil }
        defer { close(fd) }
        return Self.read(fd: fd, limit: limit)
    }

    private static func open(_ path: String) -> Int32? {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        return fd >= 0 ? fd : nil
    }

    /// Reads from offset 0 to the end. A first `pread` into a stack buffer is usually the whole
    /// file: the kernel's seq_files fill a read until the buffer is full or the file ends, and so
    /// does a regular file, so a short first read is the end. A longer file is read on in chunks.
    private static func read(fd: Int32, limit: Int) -> String? {
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { buffer -> String? in
            var first: Int
            repeat { first = pread(fd, buffer.baseAddress, buffer.count, 0) } while first < 0 && errno == EINTR
            guard first >= 0 else { return nil }
            if first < buffer.count { return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<first]), as: UTF8.self) }
            var bytes = Array(UnsafeRawBufferPointer(buffer))
            while bytes.count < limit {
                let count = pread(fd, buffer.baseAddress, buffer.count, off_t(bytes.count))
                if count < 0 {
                    if errno == EINTR { continue }
                    return nil
                }
                if count == 0 { break }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            return String(decoding: bytes.prefix(limit), as: UTF8.self)
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

/// Descriptors of kernel files kept open between reads, by path. Closed with the last copy of the
/// `SystemFiles` that made them.
final class OpenFiles: Sendable {
    private let descriptors = Mutex<[String: Int32]>([:])

    var count: Int { descriptors.withLock { $0.count } }

    func descriptor(for path: String) -> Int32? {
        descriptors.withLock { $0[path] }
    }

    /// Keeps `fd` for `path`, unless another reader kept one first (then `fd` is closed).
    func keep(_ fd: Int32, for path: String) {
        let kept = descriptors.withLock { d -> Bool in
            guard d[path] == nil else { return false }
            d[path] = fd
            return true
        }
        if !kept { close(fd) }
    }

    /// Forgets and closes `fd`, if it is still the one kept for `path`.
    func discard(_ fd: Int32, for path: String) {
        let wasKept = descriptors.withLock { d -> Bool in
            guard d[path] == fd else { return false }
            d[path] = nil
            return true
        }
        if wasKept { close(fd) }
    }

    deinit {
        descriptors.withLock { d in
            for fd in d.values { close(fd) }
        }
    }
}
