import Foundation
import HatchlingSystem
import Synchronization
import Testing

@testable import HatchlingMetrics

/// What `OpenFiles` remembers between collections: missing files, and counted directories.
@Suite("Kept files: missing files and counted directories")
struct OpenFilesMemoTests {
    final class Clock: Sendable {
        let now = Mutex(1000.0)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("open-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func text(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return count >= 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }

    @Test("a missing file is taken as missing for a minute, then looked up again")
    func missingFile() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = Clock()
        let files = OpenFiles(clock: { clock.now.withLock { $0 } })
        let path = directory.appendingPathComponent("memory.current").path

        #expect(files.read(path, Self.text) == nil)
        #expect(files.absent == 1)
        try "42\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(files.read(path, Self.text) == nil, "within the minute the file is not looked up again")
        clock.advance(OpenFiles.absenceSeconds - 1)
        #expect(files.read(path, Self.text) == nil)
        clock.advance(2)
        #expect(files.read(path, Self.text) == "42\n", "after the minute it is found")
        #expect(files.absent == 0)
        #expect(files.count == 1)
    }

    @Test("a file that cannot be read for another reason is not remembered as missing")
    func unreadableIsNotMissing() throws {
        let files = OpenFiles()
        // A directory opens, but reading it fails (EISDIR): tried again each time, not memoised.
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(files.read(directory.path, Self.text) == nil)
        #expect(files.absent == 0)
        #expect(files.count == 0)
    }

    @Test("a counted directory is kept open and listed afresh after each change")
    func keptDirectory() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = OpenFiles()
        func names() -> UInt64? {
            files.withDirectory(directory.path) { SystemFiles.count(directory: $0) }
        }
        #expect(names() == 0)
        for index in 0..<3 { try "x".write(toFile: directory.appendingPathComponent("f\(index)").path, atomically: false, encoding: .utf8) }
        #expect(names() == 3)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("f1"))
        #expect(names() == 2)
        #expect(files.count == 1, "one directory kept, nothing else")
        #expect(files.withDirectory(directory.path + "/no-such") { _ in 0 } == nil)

        // Removed while kept: the kernel lists nothing, not even `.`; that reads as nil, not as an
        // empty directory, and the directory is no longer kept.
        try FileManager.default.removeItem(at: directory)
        #expect(names() == nil)
        #expect(files.count == 0)
    }

    @Test("the descriptor count of /proc/self/fd follows descriptors opened and closed")
    func descriptorCount() throws {
        let files = SystemFiles(root: "/", keepingKernelFilesOpen: true)
        let before = try #require(files.countEntries("/proc/self/fd"))
        #expect(files.keptOpen == 1)
        // Other suites open and close files in this process at the same time: 64 is far above that noise.
        let opened = (0..<64).map { _ in open("/dev/null", O_RDONLY | O_CLOEXEC) }
        defer { for fd in opened where fd >= 0 { close(fd) } }
        #expect(opened.allSatisfy { $0 >= 0 })
        let during = try #require(files.countEntries("/proc/self/fd"))
        #expect(during >= before + 48, "\(before) → \(during): the kept directory was not listed afresh")
        #expect(files.keptOpen == 1)
    }
}
