/// Whole-file and directory reading, for small files (/proc, /sys, configuration, keys).
public enum Files {
    /// The whole of the file at `path`, at most `limit` bytes (more is an error: EFBIG), read with
    /// `flags` added to O_RDONLY | O_CLOEXEC (O_NOFOLLOW, O_NONBLOCK...).
    public static func read(_ path: String, limit: Int = 1 << 20, flags: Int32 = 0) throws(SystemError) -> [UInt8] {
        let fd = try Syscall.retrying("open \(path)") { open(path, O_RDONLY | O_CLOEXEC | flags) }
        defer { Syscall.close(fd) }
        return try read(fd: fd, limit: limit, name: path)
    }

    /// The rest of the open file `fd`, at most `limit` bytes (more is EFBIG).
    public static func read(fd: Int32, limit: Int, name: String = "file") throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = try Syscall.retrying("read \(name)") { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { throw SystemError("read \(name)", errno: EFBIG) }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// The names in the directory at `path` (without "." and ".."), in the order the kernel gives.
    public static func list(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else { throw SystemError("opendir \(path)", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
