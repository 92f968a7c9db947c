extension ColumnPlan {
    /// The columns of `dataSet`: one per data encoder (named by `dataNames`, or `"data"` for a
    /// single encoder and `"data0"`, `"data1"`… for several), then `"target"` (or `targetName`).
    static func columns(of dataSet: GeneratorDataSet, dataNames: [String]?, targetName: String,
                        codec: CacheCodec, codecs: [String: CacheCodec]) throws(CacheError) -> [ColumnPlan] {
        let encoders = dataSet.dataEncoders
        let names: [String]
        if let dataNames {
            guard dataNames.count == encoders.count else {
                throw .invalidOption("\(dataNames.count) data column names given for \(encoders.count) data encoders")
            }
            names = dataNames
        } else {
            names = encoders.count == 1 ? ["data"] : encoders.indices.map { "data\($0)" }
        }
        var columns = zip(names, encoders).map { name, encoder in
            var plan = ColumnPlan(name: name, role: .data, spec: encoder.outputSpec, codec: codecs[name] ?? codec,
                                  encoderIdentity: encoder.identity)
            plan.encodeRows(as: encoder.columnEncoding)
            return plan
        }
        if let target = dataSet.targetEncoder {
            var spec = target.outputSpec
            spec.isVariableLength = false
            columns.append(ColumnPlan(name: targetName, role: .target, spec: spec,
                                      codec: codecs[targetName] ?? codec, encoderIdentity: target.identity))
        }
        guard !columns.isEmpty else { throw .invalidOption("the data set has neither data encoders nor a target encoder") }
        var seen = Set<String>()
        for column in columns {
            guard !column.name.isEmpty, seen.insert(column.name).inserted else {
                throw .invalidOption("column name '\(column.name)' is empty or used twice")
            }
        }
        for name in codecs.keys where !seen.contains(name) {
            throw .noSuchColumn(name: name, available: columns.map(\.name))
        }
        return columns
    }
}
