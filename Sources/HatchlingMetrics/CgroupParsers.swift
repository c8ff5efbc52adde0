/// Where this process's cgroup directories are, relative to the file system root.
public struct CgroupLocation: Sendable, Equatable {
    /// The unified (v2) directory, when a cgroup2 file system is mounted.
    public var unified: String?
    /// v1 directories by controller (`memory`, `cpu`, `cpuacct`), when v1 hierarchies are mounted.
    public var v1: [String: String]

    public init(unified: String? = nil, v1: [String: String] = [:]) {
        self.unified = unified
        self.v1 = v1
    }
}

/// One line of `/proc/self/mountinfo`, the parts that matter for cgroups.
public struct MountInfoEntry: Sendable, Equatable {
    public var root: String
    public var mountPoint: String
    public var fileSystemType: String
    public var superOptions: [String]
}

extension ProcParsers {
    /// `/proc/self/mountinfo`: every mount with its root, mount point, type and super options.
    public static func mountInfo(_ text: String, file: String = "/proc/self/mountinfo") throws(MetricsParseError) -> [MountInfoEntry] {
        var entries: [MountInfoEntry] = []
        for (index, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 3 else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected mountinfo fields around ' - '")
            }
            entries.append(
                MountInfoEntry(
                    root: unescapeMountField(fields[3]), mountPoint: unescapeMountField(fields[4]),
                    fileSystemType: String(fields[dash + 1]),
                    superOptions: fields.count > dash + 3 ? fields[dash + 3].split(separator: ",").map(String.init) : []))
        }
        return entries
    }

    /// `/proc/self/cgroup`: the path of each hierarchy (`""` for the unified one, else its controllers).
    public static func cgroupMembership(_ text: String, file: String = "/proc/self/cgroup") throws(MetricsParseError) -> [(
        controllers: [String], path: String
    )] {
        var result: [(controllers: [String], path: String)] = []
        for (index, line) in text.split(separator: "\n").enumerated() {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].hasPrefix("/") else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 'id:controllers:/path'")
            }
            let controllers = parts[1].isEmpty ? [] : parts[1].split(separator: ",").map(String.init)
            result.append((controllers, String(parts[2])))
        }
        return result
    }

    /// Combines membership and mounts: the directory of the unified hierarchy and of each v1 controller.
    public static func locateCgroups(membership: [(controllers: [String], path: String)], mounts: [MountInfoEntry]) -> CgroupLocation {
        var location = CgroupLocation()
        for (controllers, path) in membership {
            if controllers.isEmpty {
                if let mount = mounts.first(where: { $0.fileSystemType == "cgroup2" }) {
                    location.unified = join(mount, path)
                }
                continue
            }
            for controller in controllers where ["memory", "cpu", "cpuacct"].contains(controller) {
                if let mount = mounts.first(where: { $0.fileSystemType == "cgroup" && $0.superOptions.contains(controller) }) {
                    location.v1[controller] = join(mount, path)
                }
            }
        }
        return location
    }

    /// A cgroup's directory: the mount point plus the path below the mount's own root. Inside a
    /// container without a cgroup namespace, the mount's root is the container's cgroup itself.
    static func join(_ mount: MountInfoEntry, _ path: String) -> String {
        var relative = Substring(path)
        if mount.root != "/", relative.hasPrefix(mount.root) {
            relative = relative.dropFirst(mount.root.count)
        }
        let trimmed = relative.drop(while: { $0 == "/" })
        if trimmed.isEmpty { return mount.mountPoint }
        return mount.mountPoint == "/" ? "/" + trimmed : mount.mountPoint + "/" + trimmed
    }

    /// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
    static func unescapeMountField(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A cgroup value file holding one number, or `max` (no limit: nil).
    public static func cgroupValue(_ text: String, file: String) throws(MetricsParseError) -> UInt64? {
        try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in try cgroupValue(bytes: bytes, file: file) }
    }

    static func cgroupValue(bytes: Bytes, file: String) throws(MetricsParseError) -> UInt64? {
        let value = ByteScanning.trimmed(bytes)
        if ByteScanning.equals(value, "max") { return nil }
        guard let number = ByteScanning.unsigned(value) else {
            throw MetricsParseError(file: file, line: 1, reason: "expected a number or 'max', got \(quote(bytes))")
        }
        return number
    }

    /// v1 reports "no limit" as a huge page-rounded number (9223372036854771712 on x86-64).
    public static func v1MemoryLimit(_ value: UInt64) -> UInt64? {
        value >= (1 << 62) ? nil : value
    }

    /// v2 `cpu.max`: `"max 100000"` (no limit) or `"quota period"`, as cores.
    public static func cpuMax(_ text: String, file: String) throws(MetricsParseError) -> Double? {
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let period = Double(parts[1]), period > 0 else {
            throw MetricsParseError(file: file, line: 1, reason: "expected 'quota period', got \(quote(text))")
        }
        if parts[0] == "max" { return nil }
        guard let quota = Double(parts[0]) else {
            throw MetricsParseError(file: file, line: 1, reason: "expected a quota or 'max', got \(quote(text))")
        }
        return quota / period
    }

    /// A `key value` line of a flat-keyed file such as v2 `cpu.stat`, `memory.events` or
    /// `memory.stat`. Only the wanted line is split into fields: the others are passed over on a
    /// comparison of their first bytes (`memory.stat` has some 40 to 70 lines).
    public static func flatKeyed(_ key: String, in text: String, file: String) throws(MetricsParseError) -> UInt64? {
        let wanted = Array(key.utf8)
        return try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in
            try wanted.withUnsafeBytes { key in
                Result { () throws(MetricsParseError) in try flatKeyed(key: key[...], bytes: bytes, file: file) }
            }.get()
        }
    }

    /// The same, with the key as bytes (a `StaticString`'s, in the collector).
    static func flatKeyed(_ key: StaticString, bytes: Bytes, file: String) throws(MetricsParseError) -> UInt64? {
        try key.withUTF8Buffer { key in
            Result { () throws(MetricsParseError) in try flatKeyed(key: UnsafeRawBufferPointer(key)[...], bytes: bytes, file: file) }
        }.get()
    }

    private static func flatKeyed(key wanted: Bytes, bytes: Bytes, file: String) throws(MetricsParseError) -> UInt64? {
        for (index, line) in ByteScanning.lines(bytes).enumerated() {
            let start = line.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? line.endIndex
            let end = start + wanted.count
            guard end < line.endIndex, ByteScanning.isBlank(line[end]), line[start..<end].elementsEqual(wanted) else { continue }
            var parts = ByteScanning.fields(line[end...])
            guard let valueField = parts.next(), parts.next() == nil else { continue }
            guard let value = ByteScanning.unsigned(valueField) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected a number, got \(quote(line))")
            }
            return value
        }
        return nil
    }

    /// The working set as cAdvisor and the kubelet define it: usage (v2 `memory.current`, v1
    /// `memory.usage_in_bytes`) less the inactive file pages of `memory.stat` (v2 `inactive_file`,
    /// v1 `total_inactive_file`), which the kernel reclaims before an OOM kill; at least 0 (the two
    /// files are read a moment apart, and the kernel's counters are per-CPU batched).
    public static func workingSet(usage: UInt64, inactiveFile: UInt64) -> UInt64 {
        usage > inactiveFile ? usage - inactiveFile : 0
    }
}
