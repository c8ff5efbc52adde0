import Dispatch
import HatchlingMetrics
import HatchlingSystem
import Synchronization
import Testing

/// Kernel files kept open between reads (`SystemFiles(keepingKernelFilesOpen:)`), on the real /proc.
@Suite("Kernel files kept open")
struct KeptOpenFilesTests {
    /// Field 10 of `/proc/self/stat`: minor page faults of the process so far.
    static func minorFaults(_ stat: String) throws -> UInt64 {
        let afterName = try #require(stat.split(separator: ")").last)
        let fields = afterName.split(separator: " ")
        return try #require(UInt64(fields[7]))  // field 3 is the first after ')'
    }

    @Test("a kept descriptor reads the file afresh each time, with no new descriptor")
    func freshContent() throws {
        let files = SystemFiles(root: "/", keepingKernelFilesOpen: true)
        let before = try Self.minorFaults(try #require(files.read("/proc/self/stat")))
        #expect(files.keptOpen == 1)
        // Touch 2,048 new pages: the count of minor faults must move by about as much.
        let size = 2048 * 4096
        let memory = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer { munmap(memory, size) }
        for page in stride(from: 0, to: size, by: 4096) { memory.storeBytes(of: 1, toByteOffset: page, as: UInt8.self) }
        let after = try Self.minorFaults(try #require(files.read("/proc/self/stat")))
        #expect(after >= before + 1024, "minor faults \(before) → \(after): the second read was not fresh")
        #expect(files.keptOpen == 1)
    }

    @Test("a file the kernel writes record by record, over several pages, is read whole, kept or not")
    func severalPages() throws {
        // /proc/crypto: stable, and a few pages long; one read returns about one page of it.
        // The reference: HatchlingSystem's reader, plain `read` until it returns 0 (Foundation's
        // reader stops after the first page of such a file, so it cannot be the reference).
        let whole = try Files.read("/proc/crypto")
        #expect(whole.count > 8192, "/proc/crypto is only \(whole.count) bytes here: pick a longer file")
        let files = SystemFiles(root: "/", keepingKernelFilesOpen: true)
        for keepOpen in [true, false, true] {
            let text = try #require(files.read("/proc/crypto", keepOpen: keepOpen))
            let same = Array(text.utf8) == whole
            #expect(same, "keepOpen \(keepOpen): \(text.utf8.count) of \(whole.count) bytes")
        }
        #expect(files.keptOpen == 1)
    }

    @Test("a file read once is not kept; a fixture tree is never kept")
    func notKept() throws {
        let files = SystemFiles(root: "/", keepingKernelFilesOpen: true)
        #expect(files.read("/proc/self/mountinfo", keepOpen: false) != nil)
        #expect(files.keptOpen == 0)
        let collector = MetricsCollector(root: "/", dataDirectory: "/")
        _ = collector.collect()
        let kept = collector.files.keptOpen
        #expect(kept >= 6, "uptime, loadavg, meminfo, stat, self/status, net/dev at least; got \(kept)")
        for _ in 0..<20 { _ = collector.collect() }
        #expect(collector.files.keptOpen == kept, "collections keep no more descriptors than the first")
    }

    @Test("a kept descriptor that stops working is closed, and the file opened again")
    func reopened() throws {
        // A thread's stat file: kept open while the thread runs, unreadable once it has ended.
        let files = SystemFiles(root: "/", keepingKernelFilesOpen: true)
        let taskPath = Mutex<String>("")
        let started = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        var thread = pthread_t()
        let box = Unmanaged.passRetained(
            ThreadBox {
                // "/proc/thread-self" links to "<pid>/task/<tid>".
                var link = [CChar](repeating: 0, count: 64)
                let count = readlink("/proc/thread-self", &link, link.count - 1)
                taskPath.withLock {
                    $0 = "/proc/" + String(decoding: link.prefix(max(count, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/stat"
                }; started.signal(); finish.wait()
            }
        ).toOpaque()
        #expect(
            pthread_create(
                &thread, nil,
                {
                    Unmanaged<ThreadBox>.fromOpaque($0!).takeRetainedValue().body(); return nil
                }, box) == 0)
        started.wait()
        let path = taskPath.withLock { $0 }
        #expect(path.contains("/task/"), "\(path)")
        #expect(files.read(path) != nil)
        #expect(files.keptOpen == 1)
        finish.signal()
        pthread_join(thread, nil)
        #expect(files.read(path) == nil, "the thread has ended: its file cannot be read")
        #expect(files.keptOpen == 0, "the dead descriptor was closed and forgotten")
    }
}

final class ThreadBox {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

@Suite("One-record files larger than the read buffer")
struct LargeOneRecordFileTests {
    @Test("a /proc/stat of 40 KiB (a host with many CPUs) is read whole, and btime past the first 16 KiB is found")
    func largeStat() throws {
        try withFixtureTree { tree in
            try tree.writeProc(bootedSecondsAgo: 5000)
            let small = try #require(SystemFiles(root: tree.root).read("/proc/stat"))
            var lines = small.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let cpus = (0..<1400).map { "cpu\($0) 10 0 5 80 5 0 0 0 0 0" }
            lines.insert(contentsOf: cpus, at: 1)
            let large = lines.joined(separator: "\n")
            #expect(large.utf8.count > 32 * 1024)
            try tree.write("/proc/stat", large)
            let read = try #require(SystemFiles(root: tree.root).read("/proc/stat"))
            #expect(read == large, "\(read.utf8.count) of \(large.utf8.count) bytes")
            let expected = try ProcParsers.statFigures(small)
            let figures = try ProcParsers.statFigures(read)
            #expect(figures.bootTime == expected.bootTime)
            #expect(figures.cpu == expected.cpu)
            let snapshot = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(snapshot.containerUptimeSeconds != nil, "\(snapshot.problems)")
            #expect(!snapshot.problems.contains { $0.contains("/proc/stat") }, "\(snapshot.problems)")
        }
    }
}
