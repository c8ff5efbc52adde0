import HatchlingSystem
import Synchronization

/// Reads kernel files below a root (`/` in production, a fixture tree in tests). Plain system
/// calls: no program is ever run to collect a figure.
///
/// With `keepingKernelFilesOpen`, files under `/proc` and `/sys` stay open after their first read
/// and are read again with one `pread` at offset 0, which makes the kernel generate them afresh:
/// one system call per file and collection instead of four (open, read, read to see the end,
/// close), and no path lookup. A heartbeat's figures then cost about a dozen descriptors, kept for the life
/// of the collector (closed with it). A read that fails on a kept descriptor (a process gone, a
/// cgroup removed) closes it and opens the file again. A file that does not exist (a cgroup v2
/// file on a host whose controller lives in v1) is not looked up again for a minute, and a
/// counted directory (`/proc/self/fd`) stays open and is rewound.
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

    /// A file read at every collection, resolved once: its path below the root, how the kernel
    /// writes it, and (for a kernel file, when files are kept open) its kept descriptor, so that a
    /// read is one `pread` with no path built, hashed or looked up.
    struct File: Sendable {
        /// The path as the agent names it (`/proc/stat`), for messages.
        let name: String
        /// The path below the root.
        let path: String
        let oneRecord: Bool
        /// The kept descriptor's entry; nil: opened and closed at each read.
        let kept: OpenFiles.Entry?
    }

    /// `absolute`, resolved for reading again and again (`contents`).
    func file(_ absolute: String, keepOpen: Bool = true) -> File {
        let kernel = absolute.hasPrefix("/proc/") || absolute.hasPrefix("/sys/")
        let resolved = path(absolute)
        return File(
            name: absolute, path: resolved, oneRecord: Self.isOneRecord(absolute),
            kept: keepOpen && kernel ? openFiles?.entry(resolved) : nil)
    }

    /// The file's text, or nil when it cannot be opened or read. At most `limit` bytes.
    /// `keepOpen: false` for a file read once (it is not worth a descriptor).
    public func read(_ absolute: String, limit: Int = 256 * 1024, keepOpen: Bool = true) -> String? {
        contents(file(absolute, keepOpen: keepOpen), limit: limit) { ByteScanning.text($0) }
    }

    /// Runs `body` on the file's bytes, at most `limit` of them, where the read left them (valid in
    /// `body` only); nil when the file cannot be opened or read.
    func contents<T>(_ file: File, limit: Int = 256 * 1024, _ body: (Bytes) -> T) -> T? {
        if let kept = file.kept {
            return kept.read { fd in Self.read(fd: fd, limit: limit, oneRecord: file.oneRecord, body) }
        }
        guard let fd = Self.open(file.path) else { return nil }
        defer { close(fd) }
        return Self.read(fd: fd, limit: limit, oneRecord: file.oneRecord, body)
    }

    /// Files the kernel writes as a single record (`single_open`, and cgroup files): one read
    /// returns all of it, up to the buffer's size. Files written record by record (one line per
    /// interface, per mount) come a page or so per read, so they are read until a read returns 0.
    static func isOneRecord(_ absolute: String) -> Bool {
        switch absolute {
        case "/proc/uptime", "/proc/loadavg", "/proc/meminfo", "/proc/stat", "/proc/self/status": true
        default: absolute.hasPrefix("/sys/fs/cgroup/")
        }
    }

    static func open(_ path: String) -> Int32? {
        openReportingError(path).fd
    }

    /// The descriptor, or nil with the `errno` of the failed `open` (read at once, inside the call).
    static func openReportingError(_ path: String) -> (fd: Int32?, error: Int32) {
        path.withCString { name in
            let fd = Glibc.open(name, O_RDONLY | O_CLOEXEC)
            return fd >= 0 ? (fd, 0) : (nil, errno)
        }
    }

    /// Reads from offset 0 to the end, with `pread` (so a kept descriptor needs no seek), and runs
    /// `body` on the bytes; nil when a read fails. The first read goes into a stack buffer; for a
    /// one-record file that is not full, it is the whole file, and nothing is allocated.
    private static func read<T>(fd: Int32, limit: Int, oneRecord: Bool, _ body: (Bytes) -> T) -> T? {
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { buffer -> T? in
            let first = Syscall.retryingRaw { pread(fd, buffer.baseAddress, buffer.count, 0) }
            guard first >= 0 else { return nil }
            if first == 0 || (oneRecord && first < buffer.count) {
                return body(UnsafeRawBufferPointer(buffer)[0..<min(first, limit)])
            }
            if oneRecord {
                // Larger than the stack buffer (/proc/stat on a host with many CPUs): read again
                // whole, in one read into a buffer that holds it. Pieces read at later offsets would
                // each be generated afresh, and a line could straddle two generations.
                var capacity = buffer.count * 4
                while true {
                    var failed = false
                    let whole = [UInt8](unsafeUninitializedCapacity: capacity) { storage, count in
                        let read = Syscall.retryingRaw { pread(fd, storage.baseAddress, capacity, 0) }
                        failed = read < 0
                        count = max(0, read)
                    }
                    if failed { return nil }
                    if whole.count < capacity || capacity >= limit {
                        return whole.withUnsafeBytes { body($0[0..<min(whole.count, limit)]) }
                    }
                    capacity *= 4
                }
            }
            var bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<first]))
            while bytes.count < limit {
                let count = Syscall.retryingRaw { pread(fd, buffer.baseAddress, buffer.count, off_t(bytes.count)) }
                if count < 0 { return nil }
                if count == 0 { break }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            return bytes.withUnsafeBytes { body($0[0..<min(bytes.count, limit)]) }
        }
    }

    /// How many entries a directory has besides `.` and `..` (for `/proc/self/fd`); nil if unreadable.
    public func countEntries(_ absolute: String) -> UInt64? {
        if let openFiles, absolute.hasPrefix("/proc/") || absolute.hasPrefix("/sys/") {
            return openFiles.withDirectory(path(absolute)) { Self.count(directory: $0) }
        }
        guard let directory = path(absolute).withCString({ opendir($0) }) else { return nil }
        defer { closedir(directory) }
        return Self.count(directory: directory)
    }

    /// The entries besides `.` and `..`; nil when the listing fails, or lists nothing at all: a
    /// directory removed while open (or a /proc directory of a process gone) lists not even `.`.
    static func count(directory: OpaquePointer) -> UInt64? {
        var count: UInt64 = 0
        var listedAny = false
        while true {
            errno = 0
            guard let entry = readdir(directory) else { return errno == 0 && listedAny ? count : nil }
            listedAny = true
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
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

/// Descriptors of kernel files kept open between reads, by path. A descriptor is closed with its
/// entry (the last `SystemFiles` or resolved `File` that holds it). Reads happen under the entry's
/// lock: a descriptor that fails is closed, and no other thread may be reading it then (its number
/// could be reused at once).
final class OpenFiles: Sendable {
    /// How long a file found missing is taken as missing before it is looked up again.
    static let absenceSeconds = 60.0

    /// One file's descriptor, kept open; or when to look for the file again.
    final class Entry: Sendable {
        private struct State {
            var fd: Int32 = -1
            /// The file was found missing (ENOENT): when to look again (monotonic seconds).
            var absentUntil: Double? = nil
        }

        let path: String
        private let state = Mutex(State())
        private let clock: @Sendable () -> Double

        init(path: String, clock: @escaping @Sendable () -> Double) {
            self.path = path
            self.clock = clock
        }

        var isOpen: Bool { state.withLock { $0.fd >= 0 } }
        var isAbsent: Bool { state.withLock { $0.absentUntil != nil } }

        /// Reads through the kept descriptor; a descriptor that fails is closed and the file
        /// opened again once; a file that cannot be read is not kept.
        func read<T>(_ body: (Int32) -> T?) -> T? {
            state.withLock { state -> T? in
                if state.fd >= 0 {
                    if let value = body(state.fd) { return value }
                    close(state.fd)
                    state.fd = -1
                }
                if let until = state.absentUntil {
                    if clock() < until { return nil }
                    state.absentUntil = nil
                }
                let opened = SystemFiles.openReportingError(path)
                guard let fd = opened.fd else {
                    if opened.error == ENOENT { state.absentUntil = clock() + OpenFiles.absenceSeconds }
                    return nil
                }
                guard let value = body(fd) else {
                    close(fd)
                    return nil
                }
                state.fd = fd
                return value
            }
        }

        deinit {
            state.withLock { state in
                if state.fd >= 0 { close(state.fd) }
            }
        }
    }

    private struct Kept: ~Copyable {
        var entries: [String: Entry] = [:]
        /// Directories being counted, kept open and rewound (`DIR *`, as an address).
        var directories: [String: UInt] = [:]
    }

    private let kept = Mutex(Kept())
    private let clock: @Sendable () -> Double

    init(clock: @escaping @Sendable () -> Double = Monotonic.seconds) {
        self.clock = clock
    }

    /// The entry of `path`, made on first use.
    func entry(_ path: String) -> Entry {
        kept.withLock { kept in
            if let entry = kept.entries[path] { return entry }
            let entry = Entry(path: path, clock: clock)
            kept.entries[path] = entry
            return entry
        }
    }

    var count: Int {
        kept.withLock { kept in kept.entries.values.count(where: \.isOpen) + kept.directories.count }
    }

    /// How many paths are taken as missing now.
    var absent: Int { kept.withLock { $0.entries.values.count(where: \.isAbsent) } }

    /// Reads `path` through its kept descriptor (`Entry.read`).
    func read<T>(_ path: String, _ body: (Int32) -> T?) -> T? {
        entry(path).read(body)
    }

    /// Runs `body` on the directory, opened on first use and rewound on every later one (a
    /// rewind makes the kernel list a /proc directory afresh); nil when it cannot be opened. A
    /// kept directory whose listing fails (`body` gives nil) is closed and opened again once.
    func withDirectory<T>(_ path: String, _ body: (OpaquePointer) -> T?) -> T? {
        kept.withLock { kept -> T? in
            if let address = kept.directories[path], let directory = OpaquePointer(bitPattern: address) {
                rewinddir(directory)
                if let result = body(directory) { return result }
                kept.directories[path] = nil
                closedir(directory)
            }
            guard let directory = path.withCString({ opendir($0) }) else { return nil }
            guard let result = body(directory) else {
                closedir(directory)
                return nil
            }
            kept.directories[path] = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(directory)))
            return result
        }
    }

    deinit {
        kept.withLock { kept in
            for address in kept.directories.values {
                if let directory = OpaquePointer(bitPattern: address) { closedir(directory) }
            }
        }
    }
}
