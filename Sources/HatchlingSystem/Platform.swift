import CSystem
// The one place the C library is chosen. Every module above this one gets POSIX (open, read,
// poll, posix_spawn...) from here, so no other file of the agent or the hub names a platform: the
// package is built and tested on glibc only, and a branch for another C library that no build
// compiles would be a claim nobody checks.
@_exported import Glibc

/// A failed system call: which one, and `errno` as read right after it.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Runs system calls the way every caller needs them run.
public enum Syscall {
    /// Calls `body` until it is not interrupted by a signal (EINTR) and returns its result; on
    /// failure (-1) throws with `errno` read at once, before any other call can change it.
    @inlinable
    @discardableResult
    public static func retrying<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw SystemError(operation(), errno: code)
        }
    }

    /// The same, for callers that want the raw result: -1 with `errno` intact (only EINTR is retried).
    @inlinable
    public static func retryingRaw<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let result = body()
            if result == -1 && Glibc.errno == EINTR { continue }
            return result
        }
    }

    /// Closes `fd`. Not retried: on Linux the descriptor is gone even when close reports EINTR.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Writes all of `bytes` (retrying short writes and EINTR); false when a write failed.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = retryingRaw { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Writes all of `bytes`; false when a write failed.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }
}
