import HatchlingSystem

/// Finds a program the agent may run on the gateway's behalf (`openclaw --version`), and refuses
/// one that someone other than root or the agent's own user could have changed.
///
/// The gateway beside the agent runs as another user and executes tools on untrusted text. If it
/// could write the program the agent runs, or a directory on the way to it, it could run code as
/// the agent's user and read the bus password and command key. So, as sudo does with its secure
/// path: the program is looked up in PATH (absolute entries only; `.` and empty entries are
/// skipped), every symbolic link is resolved, and the real file and each directory above it must
/// belong to root or to the agent's user and be writable by no one else (a sticky directory such
/// as /tmp is allowed: others cannot replace what is in it). The program then runs by its real
/// path with `environment`, never the agent's own environment.
enum TrustedExecutable {
    /// What the program runs with: a fixed PATH (so a `#!/usr/bin/env node` script finds the
    /// system's node, not one the gateway placed) and a neutral locale; nothing of the agent's.
    static let environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"]

    enum Lookup: Equatable {
        case found(String)
        case notFound
        /// Found, and refused; why (for the log: it holds a path, so never for the bus).
        case untrusted(String)
    }

    static func find(_ program: String, searchPath: String, owner: uid_t = geteuid()) -> Lookup {
        let candidates: [String]
        if program.contains("/") {
            candidates = program.hasPrefix("/") ? [program] : []
        } else {
            candidates = searchPath.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }.map { "\($0)/\(program)" }
        }
        for candidate in candidates where access(candidate, X_OK) == 0 {
            guard let real = realPath(candidate) else { continue }
            if let problem = problem(with: real, owner: owner) { return .untrusted("\(candidate) (\(real)) \(problem)") }
            return .found(real)
        }
        return .notFound
    }

    /// Why `path` (symbolic links resolved) is not safe to run, or nil when it is.
    static func problem(with path: String, owner: uid_t) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "cannot be examined" }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return "is not a regular file" }
        if let problem = ownershipProblem(info, owner: owner, what: "the program") { return problem }
        var directory = path
        while let slash = directory.lastIndex(of: "/") {
            directory = slash == directory.startIndex ? "/" : String(directory[..<slash])
            guard stat(directory, &info) == 0 else { return "is in \(directory), which cannot be examined" }
            let sticky = info.st_mode & S_ISVTX != 0
            if info.st_uid != 0 && info.st_uid != owner {
                return "is in \(directory), which belongs to uid \(info.st_uid)"
            }
            if info.st_mode & (S_IWGRP | S_IWOTH) != 0 && !sticky {
                return "is in \(directory), which others may write"
            }
            if directory == "/" { break }
        }
        return nil
    }

    private static func ownershipProblem(_ info: stat, owner: uid_t, what: String) -> String? {
        if info.st_uid != 0 && info.st_uid != owner { return "belongs to uid \(info.st_uid), not to root or this user" }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 { return "may be written by others than its owner" }
        return nil
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
