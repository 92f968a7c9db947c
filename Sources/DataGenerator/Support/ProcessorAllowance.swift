import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The number of processors this process may keep busy, at least 1: the CPUs of its affinity
/// mask, capped by its cgroup's CPU quota when one is set. The default of every worker count.
///
/// See ``ProcessorAllowance`` for where the numbers come from.
public var processorCount: Int { ProcessorAllowance.count() }

/// How many processors this process may use, as a container or `taskset` restricts it, rather
/// than how many the host has.
///
/// Two limits, the smaller wins:
/// - the affinity mask (`sched_getaffinity(2)`): the CPUs the scheduler may run this process on
///   (`taskset`, `numactl`, a cpuset cgroup);
/// - the cgroup CPU quota: cgroup v2's `cpu.max` (`"QUOTA PERIOD"`, or `"max PERIOD"` for none),
///   or cgroup v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us`, in this process's cgroup and every
///   ancestor; QUOTA / PERIOD CPUs, rounded up (a quota of 1.5 CPUs keeps 2 threads busy part of
///   the time, as Go and the JVM count it).
///
/// Where neither can be read, the online processors (`sysconf(_SC_NPROCESSORS_ONLN)`) count.
public enum ProcessorAllowance {
    /// The processors this process may use now, at least 1.
    ///
    /// - Complexity: a system call (the affinity mask, read every time: `taskset` acts at
    ///   once), and at most once a second reads of a few small files of `/proc` and `/sys` (the
    ///   quota, see ``currentQuota()``).
    public static func count() -> Int {
        count(affinity: affinityCount(), quota: currentQuota(), online: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// How long a quota read from the cgroup files is used before they are read again.
    static let quotaLifetime = 1_000_000_000

    /// The last quota read and when (monotonic nanoseconds).
    static let lastQuota = Mutex<(quota: Double?, readAt: Int)?>(nil)

    /// This process's cgroup CPU quota, read again once the last reading is older than
    /// ``quotaLifetime``. Reading the files takes about 0.3 ms (`/proc/self/cgroup`, then the
    /// cgroup and its ancestors): every ring and `forEachBatch` asks (the default workers,
    /// whether to take batches over), and a steady epoch of the MNIST-like cache lasts 12 ms,
    /// of which those reads were 2.5%. A quota changes when a container is resized, rarely.
    static func currentQuota() -> Double? {
        let now = monotonicNanos()
        if let last = lastQuota.withLock({ $0 }), now - last.readAt < quotaLifetime { return last.quota }
        let quota = cgroupQuota(cgroups: readText("/proc/self/cgroup"), root: "/sys/fs/cgroup")
        lastQuota.withLock { $0 = (quota, now) }
        return quota
    }

    /// Combines the limits: the affinity mask's CPUs (or `online` when unknown, evaluated only
    /// then: `sysconf` reads a file of `/sys` for it), capped by the quota rounded up; at least 1.
    static func count(affinity: Int?, quota: Double?, online: @autoclosure () -> Int) -> Int {
        var count = affinity ?? online()
        if let quota, quota > 0, quota.isFinite {
            count = min(count, Int(quota.rounded(.up)))
        }
        return max(1, count)
    }

    /// `sched_getaffinity(2)`, which Swift's Glibc module leaves out (it is a GNU extension):
    /// looked up once in the C library.
    private typealias GetAffinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer?) -> Int32
    private static let getAffinity: GetAffinity? = dlsym(nil, "sched_getaffinity").map { unsafeBitCast($0, to: GetAffinity.self) }

    /// The number of CPUs in the calling thread's affinity mask, or nil when it cannot be read.
    static func affinityCount() -> Int? {
        guard let getAffinity else { return nil }
        var bytes = MemoryLayout<cpu_set_t>.size
        while bytes <= 1 << 20 {
            let words = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: MemoryLayout<UInt>.alignment)
            defer { words.deallocate() }
            words.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            if getAffinity(0, bytes, words) == 0 {
                let mask = UnsafeRawBufferPointer(start: words, count: bytes)
                return mask.reduce(0) { $0 + $1.nonzeroBitCount }
            }
            guard errno == EINVAL else { return nil }
            bytes *= 2  // a kernel configured for more CPUs than cpu_set_t holds
        }
        return nil
    }

    /// The smallest CPU quota of this process's cgroup and its ancestors, in CPUs, or nil when
    /// none is set. `cgroups` is the text of `/proc/self/cgroup`; `root` the cgroup file
    /// system's mount point (`/sys/fs/cgroup`, holding cgroup v2's files or v1's controller
    /// folders).
    static func cgroupQuota(cgroups: String?, root: String) -> Double? {
        let paths = cgroupPaths(cgroups ?? "")
        var quotas = [Double]()
        for directory in ancestors(of: paths.unified ?? "/", under: root) {
            if let text = readText(directory + "/cpu.max"), let quota = quota(cpuMax: text) { quotas.append(quota) }
        }
        for controller in ["cpu", "cpu,cpuacct", "cpuacct,cpu"] {
            for directory in ancestors(of: paths.cpu ?? "/", under: root + "/" + controller) {
                if let quotaText = readText(directory + "/cpu.cfs_quota_us"),
                   let periodText = readText(directory + "/cpu.cfs_period_us"),
                   let quota = quota(cfsQuota: quotaText, cfsPeriod: periodText) { quotas.append(quota) }
            }
        }
        return quotas.min()
    }

    /// The quota of a cgroup v2 `cpu.max` file (`"150000 100000"` → 1.5), nil for `"max …"`.
    static func quota(cpuMax text: String) -> Double? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard fields.count >= 1, fields[0] != "max", let quota = Double(fields[0]), quota > 0 else { return nil }
        let period = fields.count >= 2 ? Double(fields[1]) ?? 100_000 : 100_000
        return period > 0 ? quota / period : nil
    }

    /// The quota of cgroup v1's `cpu.cfs_quota_us` over `cpu.cfs_period_us`, nil for `-1` (none).
    static func quota(cfsQuota: String, cfsPeriod: String) -> Double? {
        let trimmed = { (text: String) in text.filter { !$0.isWhitespace } }
        guard let quota = Double(trimmed(cfsQuota)), let period = Double(trimmed(cfsPeriod)),
              quota > 0, period > 0 else { return nil }
        return quota / period
    }

    /// This process's cgroup v2 path (the `0::PATH` line) and cgroup v1 path of the `cpu`
    /// controller, from the text of `/proc/self/cgroup`.
    static func cgroupPaths(_ text: String) -> (unified: String?, cpu: String?) {
        var unified: String?, cpu: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty { unified = String(fields[2]) }
            if fields[1].split(separator: ",").contains("cpu") { cpu = String(fields[2]) }
        }
        return (unified, cpu)
    }

    /// `root + path` and each of its ancestors up to `root` itself, deepest first. Inside a
    /// container the path seen in `/proc/self/cgroup` may not exist under the mount; missing
    /// folders are simply not read.
    static func ancestors(of path: String, under root: String) -> [String] {
        var components = path.split(separator: "/").filter { $0 != "." && $0 != ".." }.map(String.init)
        var directories = [String]()
        while true {
            directories.append(([root] + components).joined(separator: "/"))
            guard !components.isEmpty else { return directories }
            components.removeLast()
        }
    }

    /// The text of a small file, or nil when it cannot be read.
    private static func readText(_ path: String) -> String? {
        guard let bytes = try? FileIO.readAll(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
