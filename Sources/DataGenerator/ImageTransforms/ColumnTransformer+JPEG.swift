import CImageCodecs

extension ColumnTransformer {
    /// Renders row `row` of a JPEG-encoded column: the geometry comes from the row's recorded
    /// shape (nothing decoded), then only the source box the resample reads is decoded, at the
    /// smallest DCT scale that still leaves the resample shrinking (``JPEGRegionPlan``), into the
    /// worker's scratch, and the kernel resamples from it. At scale 1 the pixels read are the
    /// full decode's (``JPEGRegionDecoder``).
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
        let data = jpeg.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var info = dg_image_info()
        guard dg_jpeg_read_header(data, jpeg.count, &info) == 0 else {
            throw try file.jpegError(store, row: row, .corrupt(format: .jpeg, reason: cString(info.message)))
        }
        guard Int(info.height) == height, Int(info.width) == width else {
            throw try file.jpegError(store, row: row, .corrupt(format: .jpeg, reason: "the JPEG is \(info.height)×\(info.width), its recorded shape \(height)×\(width)"))
        }
        let components = Int(info.components)
        let x = plan.columns, y = plan.rows
        let cropX = max(0, x.lowerBound - 1), cropEnd = min(plan.scaledWidth, x.upperBound + 2)  // as JPEGRegionDecoder
        let capacity = dg_jpeg_region_capacity(UInt32(cropEnd - cropX), UInt32(y.count), UInt32(components))
        scratch.unitIndex = -1  // the unit slot now holds a decoded box
        let buffer = scratch.buffer(.unit, count: capacity)
        var region = dg_jpeg_region()
        let status = dg_jpeg_decode_region(data, jpeg.count, UInt32(plan.scaleNumerator), UInt32(cropX), UInt32(y.lowerBound),
                                           UInt32(cropEnd - cropX), UInt32(y.count),
                                           buffer.assumingMemoryBound(to: UInt8.self), capacity, &region)
        guard status == 0 else { throw try file.jpegError(store, row: row, .corrupt(format: .jpeg, reason: cString(region.message))) }
        let shifted = plan.geometry(regionX: Int(region.x), regionWidth: Int(region.width))
        if components == channels {
            let source = ImageSource(height: y.count, width: Int(region.width), channels: channels, pixels: UnsafeRawPointer(buffer))
            ImageTransformKernel.render(source, geometry: shifted, output: output, scratch: scratch, into: destination)
            return
        }
        // A grey JPEG in a colour column (or the reverse): converted as the pixels store converts.
        let count = y.count * Int(region.width) * components
        let native = [UInt8](UnsafeRawBufferPointer(start: buffer, count: count))
        let converted = PixelConversion.convert(native, components: components, to: channels, cmyk: true)
        converted.withUnsafeBytes { pixels in
            let source = ImageSource(height: y.count, width: Int(region.width), channels: channels, pixels: pixels.baseAddress!)
            ImageTransformKernel.render(source, geometry: shifted, output: output, scratch: scratch, into: destination)
        }
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
    /// The scaled image's width.
    let scaledWidth: Int
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
            scaled.sourceSize = (axis.sourceSize * m + 7) / 8
            scaled.in0 = axis.in0 * Double(m) / 8
            scaled.in1 = axis.in1 * Double(m) / 8
            return scaled
        }
        scaleNumerator = m
        scaled = ImageGeometry(x: scaledAxis(geometry.x), y: scaledAxis(geometry.y), mirrored: geometry.mirrored)
        scaledWidth = scaled.x.sourceSize
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
