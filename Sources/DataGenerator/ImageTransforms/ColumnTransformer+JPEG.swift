extension ColumnTransformer {
    /// Renders row `row` of a JPEG-encoded column: the geometry comes from the row's recorded
    /// shape (nothing decoded), then only the source box the resample reads is decoded, at the
    /// smallest DCT scale that still leaves the resample shrinking (``JPEGRegionPlan``), by
    /// ``JPEGRegionDecoder`` (the header read once, a grey JPEG widened to colour in place) into
    /// the worker's scratch, and the kernel resamples from it. At scale 1 the pixels read are
    /// the full decode's.
    /// `row` is the row in `file` (a shard's own row for a set), `globalRow` the data set's.
    func renderJPEG(file: CacheFile, store: ColumnStore, row: Int, globalRow: Int, seed: UInt64, epoch: Int,
                    scratch: TransformScratch, into destination: UnsafeMutableRawPointer) throws(CacheError) {
        let shape = try store.shape(ofRow: row)
        let (height, width) = (shape[0], shape[1])
        guard shape[2] == channels, height > 0, width > 0, height <= 1 << 20, width <= 1 << 20 else {
            throw store.corrupt("row shape \(shape) does not fit the column's \(channels) channels", row: row)
        }
        var draws = TransformRandom(seed: seed, epoch: epoch, key: try file.augmentationKey(ofRow: row, globalRow: globalRow))
        let geometry = pipeline.geometry(height: height, width: width, draws: &draws)
        let plan = JPEGRegionPlan(geometry: geometry)
        let jpeg = try storedJPEG(store: store, row: row)
        let capacity = JPEGRegionDecoder.capacity(columns: plan.columns.count, rows: plan.rows.count)
        scratch.unitIndex = -1  // the unit slot now holds a decoded box
        let buffer = scratch.buffer(.unit, count: capacity)
        let region: JPEGRegionDecoder.Region
        do {
            region = try JPEGRegionDecoder(channels: channels).decode(
                jpeg, columns: plan.columns, rows: plan.rows, scaleNumerator: plan.scaleNumerator, expectedSize: (height, width),
                into: UnsafeMutableRawBufferPointer(start: buffer, count: capacity))
        } catch {
            throw try file.jpegError(store, row: row, error)
        }
        let source = ImageSource(height: region.height, width: region.width, channels: channels, pixels: UnsafeRawPointer(buffer))
        ImageTransformKernel.render(source, geometry: plan.geometry(regionX: region.x, regionWidth: region.width), output: output,
                                    scratch: scratch, into: destination)
    }

    /// Row `row`'s JPEG bytes, in the mapping (JPEG-encoded columns store their units raw).
    func storedJPEG(store: ColumnStore, row: Int) throws(CacheError) -> UnsafeRawBufferPointer {
        let start = try store.streamOffset(row)
        let end = try store.streamOffset(row + 1)
        let index = try store.unitIndex(ofRow: row)
        let unit = try store.unit(index)
        guard unit.isRaw, unit.firstRow <= row, row < unit.rowEnd else {
            throw store.corrupt("unit \(index) does not hold the row's JPEG as stored bytes", row: row)
        }
        let unitStart = try store.streamOffset(unit.firstRow)
        guard end >= start, start >= unitStart, end - unitStart <= unit.stored.count else {
            throw store.corrupt("row offsets \(start)..<\(end) leave unit \(index)", row: row)
        }
        return UnsafeRawBufferPointer(rebasing: unit.stored[(start - unitStart)..<(end - unitStart)])
    }
}

/// Which part of a stored JPEG a transform's resample reads, and at which DCT scale to decode it.
///
/// The scale is the smallest of 1/8, 1/4, 1/2, 1 at which the source box still has at least as
/// many pixels as the output along both axes (the resample still shrinks, so its antialiasing
/// holds). The columns and rows are those the resample's filter reaches (Pillow's support,
/// clipped to the image), in the scaled image.
struct JPEGRegionPlan {
    /// The DCT scale is `scaleNumerator / 8`.
    let scaleNumerator: Int
    /// The scaled image's columns the resample reads.
    let columns: Range<Int>
    /// The scaled image's rows the resample reads.
    let rows: Range<Int>
    /// The geometry in the scaled image.
    let scaled: ImageGeometry

    init(geometry: ImageGeometry) {
        func covers(_ axis: ResampleAxis, _ m: Int) -> Bool { (axis.in1 - axis.in0) * Double(m) / 8 >= Double(axis.virtualSize) }
        let m = JPEGRegionDecoder.scaleNumerators.first { covers(geometry.x, $0) && covers(geometry.y, $0) } ?? 8
        func scaledAxis(_ axis: ResampleAxis) -> ResampleAxis {
            guard m != 8 else { return axis }
            var scaled = axis
            scaled.sourceSize = JPEGRegionDecoder.scaledSide(axis.sourceSize, scaleNumerator: m)
            scaled.in0 = axis.in0 * Double(m) / 8
            scaled.in1 = axis.in1 * Double(m) / 8
            return scaled
        }
        scaleNumerator = m
        scaled = ImageGeometry(x: scaledAxis(geometry.x), y: scaledAxis(geometry.y), mirrored: geometry.mirrored)
        columns = Self.read(scaled.x)
        rows = Self.read(scaled.y)
    }

    /// The source pixels the resample of `axis` reads (as ``ImageTransformKernel``'s
    /// coefficients compute them), at least one.
    static func read(_ axis: ResampleAxis) -> Range<Int> {
        let first = max(axis.windowStart, 0)
        let last = min(axis.windowStart + axis.count, axis.virtualSize) - 1
        guard first <= last, axis.sourceSize > 0 else { return 0..<1 }
        let scale = (axis.in1 - axis.in0) / Double(max(1, axis.virtualSize))
        let support = max(scale, 1)
        let low = min(axis.sourceSize - 1, max(0, Int(axis.in0 + (Double(first) + 0.5) * scale - support + 0.5)))
        let high = min(axis.sourceSize, Int(axis.in0 + (Double(last) + 0.5) * scale + support + 0.5))
        return low..<max(low + 1, high)
    }

    /// The scaled geometry moved into a decoded box whose columns start at `regionX` (`regionWidth`
    /// of them) and whose rows are ``rows``.
    func geometry(regionX: Int, regionWidth: Int) -> ImageGeometry {
        var shifted = scaled
        shifted.x.sourceSize = regionWidth
        shifted.x.in0 -= Double(regionX)
        shifted.x.in1 -= Double(regionX)
        shifted.y.sourceSize = rows.count
        shifted.y.in0 -= Double(rows.lowerBound)
        shifted.y.in1 -= Double(rows.lowerBound)
        return shifted
    }
}
