import HatchlingSystem

/// Why a file was not read. The description names no path and nothing read from the file, so it
/// may travel on the bus; callers add the path where that is safe (standard error, logs).
public enum FileReadError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(errno: Int32)
    case notRegularFile(kind: String)
    case tooLarge(limit: Int)
    case readFailed(errno: Int32)

    public var description: String {
        switch self {
        case .cannotOpen(let code): "cannot be opened (\(String(cString: strerror(code))))"
        case .notRegularFile(let kind): "is not a regular file (it is \(kind))"
        case .tooLarge(let limit): "is larger than \(limit) bytes"
        case .readFailed(let code): "cannot be read (\(String(cString: strerror(code))))"
        }
    }
}

/// Reads the files a setting names (the configuration file, the password and key files, the
/// gateway's package.json) without trusting what is at the path: another user of the container
/// may have put a FIFO, a device or a huge file there.
///
/// Only regular files are read: the path is examined before it is opened (opening some devices
/// has effects of its own), opened with O_NONBLOCK (opening a FIFO with no writer would block
/// forever), and examined again through the descriptor (the path may have been swapped in
/// between). At most `limit` bytes are read.
public enum SafeFile {
    /// The largest configuration, password or key file read: far above any real one.
    public static let settingsLimit = 64 * 1024

    public static func read(_ path: String, limit: Int = settingsLimit) -> Result<[UInt8], FileReadError> {
        if let problem = regularFileProblem(path, limit: limit) { return .failure(problem) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return .failure(.cannotOpen(errno: errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.readFailed(errno: errno)) }
        if let problem = problem(with: info, limit: limit) { return .failure(problem) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(.readFailed(errno: errno))
            }
            if count == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<count])
            // A file that grows while it is read is cut off here, not read without end.
            if bytes.count > limit { return .failure(.tooLarge(limit: limit)) }
        }
    }

    /// Why `path` is not a regular file of at most `limit` bytes that this process can read; nil
    /// when it is. Examines without opening (for files that another library opens later, such as
    /// TLS certificates: OpenSSL's `fopen` of a FIFO would block the connector thread).
    public static func regularFileProblem(_ path: String, limit: Int = settingsLimit) -> FileReadError? {
        var info = stat()
        guard stat(path, &info) == 0 else { return .cannotOpen(errno: errno) }
        if let problem = problem(with: info, limit: limit) { return problem }
        guard access(path, R_OK) == 0 else { return .cannotOpen(errno: errno) }
        return nil
    }

    private static func problem(with info: stat, limit: Int) -> FileReadError? {
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            let kind =
                switch type {
                case S_IFIFO: "a FIFO"
                case S_IFCHR: "a character device"
                case S_IFBLK: "a block device"
                case S_IFDIR: "a directory"
                case S_IFSOCK: "a socket"
                default: "not a file"
                }
            return .notRegularFile(kind: kind)
        }
        return Int(info.st_size) > limit ? .tooLarge(limit: limit) : nil
    }
}
