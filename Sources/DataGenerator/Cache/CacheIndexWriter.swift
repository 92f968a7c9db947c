/// Lays out a finished build's index section: the binary tables, then the metadata document.
struct CacheIndexWriter {
    let state: CacheBuildState
    let plans: [ColumnPlan]
    let ids: [String]?
    let classes: [String]?
    let fingerprint: CacheFingerprint
    let recordsIn: Int
    /// The column whose encoder reads the stamped source files, if any.
    let sourceColumn: String?

    /// The index section's bytes and the metadata document's length and CRC-32.
    func make() throws(CacheError) -> (bytes: [UInt8], metadataLength: Int, metadataCRC: UInt32) {
        var writer = ByteWriter()
        func table(_ count: Int, _ body: (inout ByteWriter) -> Void) -> TableLocation {
            let start = writer.bytes.count
            body(&writer)
            let crc = writer.bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            writer.alignToBoundary()
            return TableLocation(offset: UInt64(start), count: count, crc32: crc)
        }
        var columns = [ColumnMetadata]()
        for (plan, column) in zip(plans, state.columns) {
            let units = table(column.units.count) { writer in
                for unit in column.units {
                    writer.append(unit.offset)
                    writer.append(unit.length)
                    writer.append(unit.crc)
                    writer.append(unit.flags)
                }
            }
            let layout: UnitLayout = plan.oneRowPerUnit ? .row : .packed
            let firstRows = layout == .row ? nil : table(column.unitFirstRows.count) { writer in
                for row in column.unitFirstRows { writer.append(row) }
            }
            let rowOffsets = !plan.spec.isVariableLength ? nil : table(column.rowOffsets.count) { writer in
                for offset in column.rowOffsets { writer.append(offset) }
            }
            let rowShapes = !plan.spec.isVariableShape ? nil : table(column.rowShapes.count) { writer in
                for dimension in column.rowShapes { writer.append(dimension) }
            }
            columns.append(ColumnMetadata(
                name: plan.name, role: plan.role, encoder: plan.encoderIdentity, dtype: plan.spec.dtype,
                shape: plan.spec.shape, variableLength: plan.spec.isVariableLength, codec: plan.codec,
                layout: layout, unitCount: column.units.count, rawBytes: column.rawBytes,
                storedBytes: column.storedBytes, units: units, unitFirstRows: firstRows, rowOffsets: rowOffsets,
                rowShape: plan.spec.rowShape, rowShapes: rowShapes,
                encoding: plan.encoding == .plain ? nil : plan.encoding))
        }
        var idTables: IDTables?
        if let ids {
            let utf8 = ids.map { Array($0.utf8) }
            let offsets = table(ids.count + 1) { writer in
                var offset: UInt64 = 0
                writer.append(offset)
                for id in utf8 {
                    offset += UInt64(id.count)
                    writer.append(offset)
                }
            }
            let text = table(utf8.reduce(0) { $0 + $1.count }) { writer in
                for id in utf8 { writer.append(id) }
            }
            idTables = IDTables(offsets: offsets, text: text)
        }
        var sources: SourceTables?
        if let sourceColumn {
            let stamps = table(state.sources.count) { writer in
                for stamp in state.sources {
                    writer.append(stamp.storedSize)
                    writer.append(UInt64(bitPattern: stamp.modified))
                }
            }
            sources = SourceTables(column: sourceColumn, stamps: stamps)
        }
        let statistics = CacheStatistics(
            recordsIn: recordsIn, recordsWritten: state.rowCount, recordsSkipped: state.skipped.count,
            bytesIn: state.columns.reduce(0) { $0 + $1.rawBytes },
            bytesOut: state.columns.reduce(0) { $0 + $1.storedBytes })
        let metadata = CacheMetadata(
            formatVersion: CacheFormat.version(for: plans), rowCount: state.rowCount, columns: columns, ids: idTables,
            classes: classes, statistics: statistics, skipped: state.skipped, fingerprint: fingerprint,
            sources: sources)
        let document = try metadata.encoded()
        writer.append(document)
        return (writer.bytes, document.count, CRC32.checksum(document))
    }
}
