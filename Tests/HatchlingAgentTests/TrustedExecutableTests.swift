import Foundation
import HatchlingSystem
import Testing

@testable import HatchlingAgent

@Suite("Programs the agent runs must be out of others' reach")
struct TrustedExecutableTests {
    /// A fresh directory (0755, ours) holding an executable `prog`.
    func directoryWithProgram() throws -> (URL, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trusted-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let program = directory.appendingPathComponent("prog")
        try "#!/bin/sh\necho 1.2.3\n".write(to: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
        return (directory, program)
    }

    @Test("found in PATH by its real path; relative and empty PATH entries are skipped")
    func found() throws {
        let (directory, program) = try directoryWithProgram()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(TrustedExecutable.find("prog", searchPath: "/nonexistent:\(directory.path)") == .found(program.path))
        #expect(TrustedExecutable.find("prog", searchPath: ".::relative/dir") == .notFound)
        let link = directory.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: program.path)
        #expect(TrustedExecutable.find("link", searchPath: directory.path) == .found(program.path))
    }

    @Test("refused: a program others may write, one in a directory others may write, one owned by another user")
    func refused() throws {
        let (directory, program) = try directoryWithProgram()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o775], ofItemAtPath: program.path)
        guard case .untrusted(let writable) = TrustedExecutable.find("prog", searchPath: directory.path) else {
            Issue.record("a group-writable program was accepted"); return
        }
        #expect(writable.contains("written by others"))

        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        guard case .untrusted(let open) = TrustedExecutable.find("prog", searchPath: directory.path) else {
            Issue.record("a program in a world-writable directory was accepted"); return
        }
        #expect(open.contains("which others may write"))

        // Sticky (like /tmp): others cannot replace what is in it.
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: directory.path)
        #expect(TrustedExecutable.find("prog", searchPath: directory.path) == .found(program.path))

        // Owned by someone else: checked against an owner uid that is neither root nor the file's.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        if geteuid() == 0 {
            #expect(chown(program.path, 65534, 65534) == 0)
            guard case .untrusted(let foreign) = TrustedExecutable.find("prog", searchPath: directory.path, owner: 0) else {
                Issue.record("a program owned by nobody was accepted"); return
            }
            #expect(foreign.contains("belongs to uid 65534"))
        }
    }

    @Test("the program's environment is fixed: nothing of the agent's")
    func environment() {
        #expect(TrustedExecutable.environment.allSatisfy { $0.hasPrefix("PATH=") || $0.hasPrefix("LANG=") })
        let output = ProcessRunner.output(of: "/usr/bin/env", arguments: [], environment: TrustedExecutable.environment, timeout: 5)
        #expect(output?.split(separator: "\n").sorted() == TrustedExecutable.environment.sorted().map { Substring($0) })
    }
}
