import HatchlingSystem

/// Small file helpers over POSIX calls (no Foundation in fleetctl); reading is HatchlingSystem.Files.
public enum Files {
    /// A secret file's text without its trailing newline (as the agent reads MQTT_PASSWORD_FILE).
    public static func readSecret(_ path: String) -> String? {
        guard let bytes = try? HatchlingSystem.Files.read(path, limit: 64 * 1024), var text = String(validating: bytes, as: UTF8.self) else {
            return nil
        }
        while text.hasSuffix("\n") || text.hasSuffix("\r") || text.hasSuffix("\r\n") { text.removeLast() }
        return text
    }

    /// True when other users may read the file (mode bits 0o077), for a permission warning.
    public static func isReadableByOthers(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & 0o077 != 0
    }

    /// True when the path names something this process can read.
    public static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }
}

/// Writes to standard output and standard error with `write(2)` (the global `stderr` is not
/// concurrency-safe in Swift 6, and `print` buffers, which a live view and a log cannot have).
public enum Terminal {
    /// Writes `text` to standard output as is.
    public static func out(_ text: String) {
        write(fd: 1, Array(text.utf8))
    }

    /// Writes one error line to standard error, in `LOG_FORMAT` (`FleetctlLog`).
    public static func error(_ line: String) {
        log(line, level: .error)
    }

    /// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
    public static func write(fd: Int32, _ bytes: [UInt8]) {
        Syscall.writeAll(fd, bytes)
    }

    /// True when standard output is a terminal.
    public static var outputIsTerminal: Bool { isatty(1) == 1 }
}
