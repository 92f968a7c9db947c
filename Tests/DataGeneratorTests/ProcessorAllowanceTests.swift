import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

@Suite("Processor allowance")
struct ProcessorAllowanceTests {
    /// `sched_setaffinity(2)`, left out of Swift's Glibc module like `sched_getaffinity`.
    typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer?) -> Int32

    /// Runs `body` with the calling thread pinned to the first CPU of its affinity mask, then
    /// restores the mask.
    static func pinnedToOneCPU<R>(_ body: () throws -> R) throws -> R {
        let set = try #require(dlsym(nil, "sched_setaffinity").map { unsafeBitCast($0, to: SetAffinity.self) })
        var original = cpu_set_t()
        let size = MemoryLayout<cpu_set_t>.size
        let getAffinity = try #require(dlsym(nil, "sched_getaffinity").map {
            unsafeBitCast($0, to: (@convention(c) (pid_t, Int, UnsafeMutableRawPointer?) -> Int32).self)
        })
        try #require(withUnsafeMutableBytes(of: &original) { getAffinity(0, size, $0.baseAddress) } == 0)
        let originalBytes = withUnsafeBytes(of: original) { Array($0) }
        let first = try #require(originalBytes.indices.first { originalBytes[$0] != 0 })
        var pinned = cpu_set_t()
        withUnsafeMutableBytes(of: &pinned) { $0[first] = originalBytes[first] & (0 &- originalBytes[first]) }  // its lowest CPU
        try #require(withUnsafeBytes(of: pinned) { set(0, size, $0.baseAddress) } == 0)
        defer { _ = withUnsafeBytes(of: original) { set(0, size, $0.baseAddress) } }
        return try body()
    }

    /// Writes `text` to `path`, creating the directories on the way.
    static func write(_ text: String, to path: String) throws {
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix += "/" + component
            mkdir(prefix, 0o755)
        }
        try FileIO.write(Array(text.utf8), to: path)
    }

    @Test("a thread pinned to one CPU counts one processor, whatever the host has")
    func affinityMaskBoundsTheCount() throws {
        // Counted once before pinning: the quota's reading is kept a while, the mask's is not.
        _ = processorCount
        let counted = try Self.pinnedToOneCPU { (ProcessorAllowance.affinityCount(), ProcessorAllowance.count(), processorCount) }
        #expect(counted.0 == 1)
        #expect(counted.1 == 1)
        #expect(counted.2 == 1)
    }

    @Test("the affinity count agrees with the kernel's Cpus_allowed_list for this thread")
    func affinityCountMatchesTheKernelsList() throws {
        let status = String(decoding: try FileIO.readAll("/proc/thread-self/status"), as: UTF8.self)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        let list = line.dropFirst("Cpus_allowed_list:".count).filter { !$0.isWhitespace }
        let allowed = try list.split(separator: ",").reduce(0) { total, range in
            let ends = range.split(separator: "-").compactMap { Int($0) }
            try #require(ends.count == 1 || ends.count == 2)
            return total + (ends.count == 2 ? ends[1] - ends[0] + 1 : 1)
        }
        #expect(ProcessorAllowance.affinityCount() == allowed)
        #expect(ProcessorAllowance.count() <= allowed)
    }

    @Test("the quota counted is the one the cgroup files give")
    func currentQuotaIsTheCgroupFilesQuota() throws {
        let cgroups = String(decoding: try FileIO.readAll("/proc/self/cgroup"), as: UTF8.self)
        let read = ProcessorAllowance.cgroupQuota(cgroups: cgroups, root: "/sys/fs/cgroup")
        ProcessorAllowance.lastQuota.withLock { $0 = nil }  // a fresh reading, 1 s to live
        #expect(ProcessorAllowance.currentQuota() == read)
        // Within its lifetime the reading is kept, not taken again.
        let readAt = try #require(ProcessorAllowance.lastQuota.withLock { $0 }).readAt
        #expect(ProcessorAllowance.currentQuota() == read)
        #expect(ProcessorAllowance.lastQuota.withLock { $0 }?.readAt == readAt)
    }

    @Test("cpu.max reads as CPUs, max and garbage as no quota")
    func cpuMaxParses() {
        #expect(ProcessorAllowance.quota(cpuMax: "150000 100000\n") == 1.5)
        #expect(ProcessorAllowance.quota(cpuMax: "200000 100000") == 2)
        #expect(ProcessorAllowance.quota(cpuMax: "max 100000\n") == nil)
        #expect(ProcessorAllowance.quota(cpuMax: "") == nil)
        #expect(ProcessorAllowance.quota(cpuMax: "lots 100000") == nil)
        #expect(ProcessorAllowance.quota(cfsQuota: "50000\n", cfsPeriod: "100000\n") == 0.5)
        #expect(ProcessorAllowance.quota(cfsQuota: "-1\n", cfsPeriod: "100000\n") == nil)
    }

    @Test("a quota caps the affinity count, rounded up, and the count is at least 1")
    func quotaCapsTheCount() {
        #expect(ProcessorAllowance.count(affinity: 8, quota: 1.5, online: 64) == 2)
        #expect(ProcessorAllowance.count(affinity: 8, quota: nil, online: 64) == 8)
        #expect(ProcessorAllowance.count(affinity: 2, quota: 16, online: 64) == 2)
        #expect(ProcessorAllowance.count(affinity: nil, quota: nil, online: 64) == 64)
        #expect(ProcessorAllowance.count(affinity: 4, quota: 0.2, online: 64) == 1)
        #expect(ProcessorAllowance.count(affinity: nil, quota: nil, online: -1) == 1)
    }

    @Test("/proc/self/cgroup gives the cgroup v2 path and the v1 cpu controller's path")
    func cgroupPathsParse() {
        let hybrid = "9:name=systemd:/\n4:memory:/job\n2:cpu,cpuacct:/job/task\n0::/job/task\n"
        let paths = ProcessorAllowance.cgroupPaths(hybrid)
        #expect(paths.unified == "/job/task")
        #expect(paths.cpu == "/job/task")
        #expect(ProcessorAllowance.cgroupPaths("0::/\n").cpu == nil)
        #expect(ProcessorAllowance.ancestors(of: "/a/b", under: "/r") == ["/r/a/b", "/r/a", "/r"])
        #expect(ProcessorAllowance.ancestors(of: "/", under: "/r") == ["/r"])
    }

    @Test("the smallest quota of the cgroup and its ancestors counts, in cgroup v2 and v1")
    func cgroupQuotaIsTheSmallestOnThePath() throws {
        try CacheFixtures.withDirectory { root in
            try Self.write("max 100000\n", to: root + "/job/task/cpu.max")
            try Self.write("150000 100000\n", to: root + "/job/cpu.max")
            try Self.write("400000 100000\n", to: root + "/cpu.max")
            #expect(ProcessorAllowance.cgroupQuota(cgroups: "0::/job/task\n", root: root) == 1.5)
            // A path the mount does not show (a container's own view): its ancestors still count.
            #expect(ProcessorAllowance.cgroupQuota(cgroups: "0::/elsewhere/x\n", root: root) == 4)
            #expect(ProcessorAllowance.cgroupQuota(cgroups: nil, root: root) == 4)

            try Self.write("50000\n", to: root + "/cpu,cpuacct/batch/cpu.cfs_quota_us")
            try Self.write("100000\n", to: root + "/cpu,cpuacct/batch/cpu.cfs_period_us")
            #expect(ProcessorAllowance.cgroupQuota(cgroups: "3:cpu,cpuacct:/batch\n0::/job/task\n", root: root) == 0.5)
        }
        try CacheFixtures.withDirectory { root in
            #expect(ProcessorAllowance.cgroupQuota(cgroups: "0::/job\n", root: root) == nil)
        }
    }
}
