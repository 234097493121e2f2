/// A point to cluster: an event in projected metres.
public struct ClusterPoint: Sendable, Equatable {
    /// Projected metres (the city CRS converted to metres).
    public var x: Double
    public var y: Double
    /// Weight in the centroid, e.g. 1/accuracy².
    public var weight: Double
    /// Stable identity independent of ingest order (e.g. a hash of trip name and time), used
    /// only to break exact ties so the result depends on the set of points, never their order.
    public var key: UInt64

    public init(x: Double, y: Double, weight: Double = 1, key: UInt64) {
        self.x = x
        self.y = y
        self.weight = weight
        self.key = key
    }
}

/// One cluster: its members (indices into the input) and weighted centroid.
public struct PointCluster: Sendable, Equatable {
    public var members: [Int]
    public var x: Double
    public var y: Double
}

/// Density-seeded clustering in projected metres.
///
/// Every point ends up within `radius` of its cluster's centroid, except satellites: groups of
/// one or two hits thrown beyond the radius by GPS error join a bigger cluster up to 1.5 radii
/// away rather than stand alone; and two clusters of one spot's scatter (within the radius of
/// each other, all points within the radius of their joint centroid) become one. Seeds are taken in order of
/// local density (densest first), so two potholes 12 m apart stay two clusters while the GPS
/// scatter of one pothole's hits stays one. The result is a function of the set of points:
/// ingesting trips in any order, or in several batches, gives the same clusters.
/// Cost is a radix sort of the points by cell, a sort of the occupied cells by density, and grid
/// look-ups (each cell's neighbours are listed once): a million events cluster in about 0.8 s.
public enum EventClustering {
    public static func cluster(_ points: [ClusterPoint], radius: Double) -> [PointCluster] {
        guard !points.isEmpty else { return [] }
        let cell = radius / 2
        let grid = CellGrid(points: points, cell: cell)

        // 1. Density of each occupied cell: weight in its 5×5 neighbourhood (±1 radius).
        let neighbours = NeighbourLists(grid)
        var cellDensity = [Double](repeating: 0, count: grid.cells.count)
        for c in grid.cells.indices {
            var d = 0.0
            neighbours.forEach(of: c) { n in d += grid.cellWeights[n] }
            cellDensity[c] = d
        }
        // 2. Seeds, densest cell first; ties by cell key (a function of position only).
        let order = grid.cells.indices.sorted {
            cellDensity[$0] != cellDensity[$1] ? cellDensity[$0] > cellDensity[$1] : grid.cells[$0].key < grid.cells[$1].key
        }
        // Owners in grid order while seeding and refining: both walk cells, so they stay
        // contiguous.
        var ownerAt = [Int](repeating: -1, count: points.count)
        var centres: [(x: Double, y: Double)] = []
        var centresByCell = CellLists()
        let r2 = radius * radius
        for c in order {
            guard grid.cells[c].range.contains(where: { ownerAt[$0] < 0 }) else { continue }
            // Climb from the cell to the local mode of all points (mean shift, window 0.6 radius):
            // a seed between two potholes moves onto one, and a seed on the fringe of a spot
            // already taken climbs back to that spot's centre instead of founding a satellite.
            let mode = grid.climb(from: c, within: 0.6 * radius, squared: 0.36 * r2, neighbours)
            var (cx, cy) = (mode.x, mode.y)
            // The same mode as an existing centre: that centre takes this cell's unclaimed
            // points up to 1.5 radii (GPS scatter's fringe). Otherwise a new centre claims
            // the unclaimed points within the radius.
            var id = -1, reach2 = r2
            centresByCell.forEach(near: cx, cy, within: 0.5 * radius, cell: cell) { e in
                let dx = centres[e].x - cx, dy = centres[e].y - cy
                if id < 0 && dx * dx + dy * dy <= 0.25 * r2 { id = e }
            }
            if id >= 0 {
                (cx, cy) = centres[id]
                reach2 = 2.25 * r2
                for k in grid.cells[c].range {
                    let dx = grid.xs[k] - cx, dy = grid.ys[k] - cy
                    if ownerAt[k] < 0 && dx * dx + dy * dy <= reach2 { ownerAt[k] = id }
                }
                continue
            }
            id = centres.count
            var claimed = 0
            grid.forEachCell(near: cx, cy, within: radius, in: mode.cell, neighbours) { n in
                for k in grid.cells[n].range {
                    let dx = grid.xs[k] - cx, dy = grid.ys[k] - cy
                    if dx * dx + dy * dy <= r2 && ownerAt[k] < 0 {
                        ownerAt[k] = id
                        claimed += 1
                    }
                }
            }
            if claimed > 0 {
                centres.append((cx, cy))
                centresByCell.append(id, at: grid.key(cx, cy))
            }
        }
        // A seed whose mode-seeking walked away leaves its cell's points unclaimed: each such
        // point starts a cluster of its own (step 4 may attach it to a neighbour), numbered in
        // input order.
        for k in ownerAt.indices.filter({ ownerAt[$0] < 0 }).sorted(by: { grid.sorted[$0] < grid.sorted[$1] }) {
            ownerAt[k] = centres.count
            centres.append((grid.xs[k], grid.ys[k]))
        }
        let count = centres.count
        // Owners by input order too: the centroids sum their members in that order.
        var owner = [Int](repeating: -1, count: points.count)
        for (k, i) in grid.sorted.enumerated() { owner[i] = ownerAt[k] }
        // 3. One refinement: centres become their members' weighted means, and each point
        //    moves to the nearest centre within the radius if that is not its own. Candidate
        //    centres are gathered once per cell, not once per point: those of the cells in its
        //    neighbour list, or, near a centre in a cell without points, through a grid of the
        //    centres. Both give the centres of the 5×5 cells in the same order.
        var groups = Groups(owner, count: count, points: points)
        var centreGrid = groups.grid(cell: cell)
        let centresIn = CentresByCell(groups, grid: grid)
        var candidates: [Int] = []
        for c in grid.cells.indices {
            candidates.removeAll(keepingCapacity: true)
            if centresIn.nearStray[c] {
                centreGrid.forEachNeighbour(of: grid.cells[c].key, reach: 2) { n in
                    for k in centreGrid.cells[n].range where groups.size[centreGrid.sorted[k]] > 0 {
                        candidates.append(centreGrid.sorted[k])
                    }
                }
            } else {
                neighbours.forEach(of: c) { n in centresIn.forEach(in: n) { candidates.append($0) } }
            }
            for k in grid.cells[c].range {
                var best = ownerAt[k]
                var bestD = groups.distance2(grid.xs[k], grid.ys[k], best)
                for g in candidates {
                    let d = groups.distance2(grid.xs[k], grid.ys[k], g)
                    if d < bestD - 1e-9 || (abs(d - bestD) <= 1e-9 && g < best) {
                        best = g
                        bestD = d
                    }
                }
                if bestD <= r2 { ownerAt[k] = best }
            }
        }
        for (k, i) in grid.sorted.enumerated() { owner[i] = ownerAt[k] }
        // 4. Satellites: GPS error throws a few hits of a spot beyond the radius, where they
        //    would stand as small clusters of their own. A group of at most two hits, or of
        //    at most a quarter of a neighbour's, joins the nearest such bigger neighbour
        //    within 1.5 radii.
        groups = Groups(owner, count: count, points: points)
        centreGrid = groups.grid(cell: cell)
        // Each group's target is chosen on the groups as they stand, then applied in one pass.
        var joins = [Int](repeating: -1, count: count)
        for g in 0..<count where groups.size[g] > 0 {
            var best = -1
            var bestD = 2.25 * r2
            centreGrid.forEachNeighbour(of: centreGrid.key(groups.x[g], groups.y[g]), reach: 3) { n in
                for k in centreGrid.cells[n].range {
                    let h = centreGrid.sorted[k]
                    let size = groups.size[h]
                    guard h != g, size >= 3, groups.size[g] <= max(2, size / 4) else { continue }
                    let d = groups.distance2(groups.x[g], groups.y[g], h)
                    if d < bestD || (d == bestD && h < best) {
                        best = h
                        bestD = d
                    }
                }
            }
            joins[g] = best
        }
        for i in owner.indices where joins[owner[i]] >= 0 { owner[i] = joins[owner[i]] }
        joinHalves(&owner, count: count, points: points, radius: radius)
        groups = Groups(owner, count: count, points: points)
        // Each member list allocated once, at its final size.
        var clusterOf = [Int](repeating: -1, count: count)
        var clusters: [PointCluster] = []
        for g in 0..<count where groups.size[g] > 0 {
            clusterOf[g] = clusters.count
            var members: [Int] = []
            members.reserveCapacity(groups.size[g])
            clusters.append(PointCluster(members: members, x: groups.x[g], y: groups.y[g]))
        }
        for (i, o) in owner.enumerated() { clusters[clusterOf[o]].members.append(i) }
        return clusters
    }
}

extension EventClustering {
    /// 5. Halves of one spot: a seed on the fringe of a spot's scatter can settle far enough
    ///    from the first centre to found a second, and the spot's points are then shared
    ///    between two clusters a few metres apart. Two groups whose centroids are within the
    ///    radius become one when every point of both is within the radius of their joint
    ///    centroid, as a cluster's points are (two defects side by side spread further than
    ///    that); closest pairs first.
    static func joinHalves(_ owner: inout [Int], count: Int, points: [ClusterPoint], radius: Double) {
        let r2 = radius * radius
        let groups = Groups(owner, count: count, points: points)
        let centreGrid = groups.grid(cell: radius / 2)
        var pairs: [(d: Double, g: Int, h: Int)] = []
        for g in 0..<count where groups.size[g] > 0 {
            centreGrid.forEachNeighbour(of: centreGrid.key(groups.x[g], groups.y[g]), reach: 2) { n in
                for k in centreGrid.cells[n].range {
                    let h = centreGrid.sorted[k]
                    guard h > g, groups.size[h] > 0 else { continue }
                    let d = groups.distance2(groups.x[g], groups.y[g], h)
                    if d <= r2 { pairs.append((d, g, h)) }
                }
            }
        }
        guard !pairs.isEmpty else { return }
        pairs.sort { $0.d != $1.d ? $0.d < $1.d : $0.g != $1.g ? $0.g < $1.g : $0.h < $1.h }
        // The members of the groups in a pair, by group (one array, counted then filled), and
        // each group as a chain of the groups joined into it.
        var slot = [Int](repeating: -1, count: count)
        var involved = 0
        for pair in pairs {
            if slot[pair.g] < 0 { slot[pair.g] = involved; involved += 1 }
            if slot[pair.h] < 0 { slot[pair.h] = involved; involved += 1 }
        }
        var start = [Int](repeating: 0, count: involved + 1)
        for o in owner where slot[o] >= 0 { start[slot[o] + 1] += 1 }
        for k in 0..<involved { start[k + 1] += start[k] }
        var members = [Int](repeating: 0, count: start[involved])
        var fill = start
        for (i, o) in owner.enumerated() where slot[o] >= 0 {
            members[fill[slot[o]]] = i
            fill[slot[o]] += 1
        }
        var next = [Int](repeating: -1, count: involved)
        var last = Array(0..<involved)
        var joined = [Bool](repeating: false, count: involved)
        func forEachMember(of chain: Int, _ body: (Int) -> Void) {
            var k = chain
            while k >= 0 {
                for j in start[k]..<start[k + 1] { body(members[j]) }
                k = next[k]
            }
        }
        for pair in pairs {
            let a = slot[pair.g], b = slot[pair.h]
            guard !joined[a], !joined[b] else { continue }
            var sx = 0.0, sy = 0.0, sw = 0.0
            let sum = { (i: Int) in
                sx += points[i].x * points[i].weight
                sy += points[i].y * points[i].weight
                sw += points[i].weight
            }
            forEachMember(of: a, sum)
            forEachMember(of: b, sum)
            guard sw > 0 else { continue }
            let (cx, cy) = (sx / sw, sy / sw)
            var fits = true
            let near = { (i: Int) in
                let dx = points[i].x - cx, dy = points[i].y - cy
                if dx * dx + dy * dy > r2 { fits = false }
            }
            forEachMember(of: a, near)
            forEachMember(of: b, near)
            guard fits else { continue }
            forEachMember(of: b) { owner[$0] = pair.g }
            next[last[a]] = b
            last[a] = last[b]
            joined[b] = true
        }
    }
}

/// The groups of an assignment: weighted centroids and sizes, summed in point order as the
/// members' means always were, without gathering member lists.
private struct Groups {
    var x: [Double]
    var y: [Double]
    var size: [Int]

    init(_ owner: [Int], count: Int, points: [ClusterPoint]) {
        // One record per group, so that each point updates one cache line rather than six.
        var sums = [(x: Double, y: Double, weight: Double, plainX: Double, plainY: Double, size: Int)](
            repeating: (0, 0, 0, 0, 0, 0), count: count)
        for (i, o) in owner.enumerated() {
            sums[o].x += points[i].x * points[i].weight
            sums[o].y += points[i].y * points[i].weight
            sums[o].weight += points[i].weight
            sums[o].plainX += points[i].x
            sums[o].plainY += points[i].y
            sums[o].size += 1
        }
        x = [Double](repeating: 0, count: count)
        y = x
        size = sums.map(\.size)
        for (g, s) in sums.enumerated() where s.size > 0 {
            if s.weight > 0 {
                x[g] = s.x / s.weight
                y[g] = s.y / s.weight
            } else {
                // All weights zero: the plain mean.
                x[g] = s.plainX / Double(s.size)
                y[g] = s.plainY / Double(s.size)
            }
        }
    }

    func distance2(_ px: Double, _ py: Double, _ g: Int) -> Double {
        let dx = px - x[g], dy = py - y[g]
        return dx * dx + dy * dy
    }

    /// The centroids (empty groups at the origin) bucketed into cells.
    func grid(cell: Double) -> CellGrid {
        CellGrid(points: x.indices.map { ClusterPoint(x: x[$0], y: y[$0], key: 0) }, cell: cell)
    }
}

/// The groups' centroids by the occupied cell of a point grid that holds them. A centroid in
/// an empty cell is a stray: the cells within two of it are marked to look it up otherwise.
private struct CentresByCell {
    private let start: [Int]
    private let ids: [Int]
    let nearStray: [Bool]

    init(_ groups: Groups, grid: CellGrid) {
        var cellOf = [Int](repeating: -1, count: groups.size.count)
        var start = [Int](repeating: 0, count: grid.cells.count + 1)
        var nearStray = [Bool](repeating: false, count: grid.cells.count)
        for g in groups.size.indices where groups.size[g] > 0 {
            let key = grid.key(groups.x[g], groups.y[g])
            cellOf[g] = grid.cell(with: key)
            if cellOf[g] >= 0 {
                start[cellOf[g] + 1] += 1
            } else {
                grid.forEachNeighbour(of: key, reach: 2) { nearStray[$0] = true }
            }
        }
        for c in grid.cells.indices { start[c + 1] += start[c] }
        // Filled in group order, so each cell lists its centroids in ascending order.
        var next = start
        var ids = [Int](repeating: 0, count: start[grid.cells.count])
        for g in cellOf.indices where cellOf[g] >= 0 {
            ids[next[cellOf[g]]] = g
            next[cellOf[g]] += 1
        }
        self.start = start
        self.ids = ids
        self.nearStray = nearStray
    }

    @inline(__always)
    func forEach(in cell: Int, _ body: (Int) -> Void) {
        for j in start[cell]..<start[cell + 1] { body(ids[j]) }
    }
}

/// Lists of ids by cell, for the centres: the first id of a cell through a CellIndex, the
/// rest chained in the order they were added.
struct CellLists {
    private var first = CellIndex(capacity: 16)
    private var next: [Int] = []

    /// Adds `id`, which must be the number of ids added so far.
    mutating func append(_ id: Int, at key: Int64) {
        next.append(-1)
        var e = first.find(key)
        if e < 0 {
            first.insert(key, id)
            return
        }
        while next[e] >= 0 { e = next[e] }
        next[e] = id
    }

    /// Calls `body` with the ids in every cell that can hold a position within `reach`
    /// metres of (x, y), cell by cell as `CellGrid.forEachKey` visits them.
    @inline(__always)
    func forEach(near x: Double, _ y: Double, within reach: Double, cell: Double, _ body: (Int) -> Void) {
        CellGrid.forEachKey(near: x, y, within: reach, cell: cell) { key in
            var e = first.find(key)
            while e >= 0 {
                body(e)
                e = next[e]
            }
        }
    }
}

/// Points bucketed into square cells: one sort, then each cell is a contiguous range.
struct CellGrid {
    /// 16 bytes (the weights are kept apart): the mean-shift walks read cells scattered over
    /// memory, so the fewer cache lines the better.
    struct Cell {
        var key: Int64
        var start: Int32
        var end: Int32
        /// The cell's points, a range of `sorted`.
        var range: Range<Int> { Int(start)..<Int(end) }
    }
    let cell: Double
    /// Point indices ordered by cell.
    let sorted: [Int]
    /// Positions and weights in the same order as `sorted`: the mean-shift walks read them
    /// contiguously instead of jumping through the points array.
    let xs: [Double]
    let ys: [Double]
    let weights: [Double]
    let cells: [Cell]
    /// The weight in each cell.
    let cellWeights: [Double]
    private let index: CellIndex

    init(points: [ClusterPoint], cell: Double) {
        self.cell = cell
        var order = points.indices.map { (cell: CellGrid.key(points[$0].x, points[$0].y, cell), key: points[$0].key, index: $0) }
        CellGrid.sortByCell(&order)
        var cells: [Cell] = []
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && order[end].cell == order[start].cell { end += 1 }
            // Within a cell by point key, then input order: the order the sums run in. A cell
            // holds a few points: an insertion sort, which unlike the standard one allocates
            // nothing; a crowded cell takes the standard one.
            if end - start > 32 {
                order[start..<end].sort { ($0.key, $0.index) < ($1.key, $1.index) }
            } else {
                for i in start..<end {
                    let item = order[i]
                    var j = i
                    while j > start && (order[j - 1].key, order[j - 1].index) > (item.key, item.index) {
                        order[j] = order[j - 1]
                        j -= 1
                    }
                    order[j] = item
                }
            }
            cells.append(Cell(key: order[start].cell, start: Int32(start), end: Int32(end)))
            start = end
        }
        let sorted = order.map(\.index)
        // One pass over the points in cell order for all three.
        var xs: [Double] = [], ys: [Double] = [], weights: [Double] = []
        xs.reserveCapacity(sorted.count)
        ys.reserveCapacity(sorted.count)
        weights.reserveCapacity(sorted.count)
        for i in sorted {
            xs.append(points[i].x)
            ys.append(points[i].y)
            weights.append(points[i].weight)
        }
        let cellWeights = cells.map { c in
            var w = 0.0
            for k in c.range { w += weights[k] }
            return w
        }
        var index = CellIndex(capacity: cells.count)
        for (i, c) in cells.enumerated() { index.insert(c.key, i) }
        self.sorted = sorted
        self.xs = xs
        self.ys = ys
        self.weights = weights
        self.cells = cells
        self.cellWeights = cellWeights
        self.index = index
    }

    /// Sorts points by cell key, keeping input order within a cell: a radix sort, a byte at a
    /// time, on the key's two halves less their minimums, over only the bytes they span
    /// (four to six passes for a city; about twice as fast as a comparison sort). The halves
    /// are the signed column and the unsigned row, so the cells come out in key order exactly.
    private static func sortByCell(_ items: inout [(cell: Int64, key: UInt64, index: Int)]) {
        var minX = Int32.max, maxX = Int32.min, minY = UInt32.max, maxY = UInt32.min
        for item in items {
            let x = Int32(truncatingIfNeeded: item.cell >> 32), y = UInt32(truncatingIfNeeded: item.cell)
            (minX, maxX, minY, maxY) = (min(minX, x), max(maxX, x), min(minY, y), max(maxY, y))
        }
        func digits(_ cell: Int64) -> UInt64 {
            UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: cell >> 32) &- minX)) << 32
                | UInt64(UInt32(truncatingIfNeeded: cell) &- minY)
        }
        func bytes(_ span: UInt32) -> Int { (32 - span.leadingZeroBitCount + 7) / 8 }
        var shifts: [UInt64] = []
        for b in 0..<bytes(maxY &- minY) { shifts.append(UInt64(8 * b)) }
        for b in 0..<bytes(UInt32(bitPattern: maxX &- minX)) { shifts.append(UInt64(32 + 8 * b)) }
        var other = items
        for shift in shifts {
            // Where each byte value starts, then each item to its place, in order.
            var start = [Int](repeating: 0, count: 257)
            for item in items { start[(Int(truncatingIfNeeded: digits(item.cell) >> shift) & 0xFF) + 1] += 1 }
            for b in 0..<256 { start[b + 1] += start[b] }
            other.withUnsafeMutableBufferPointer { out in
                for item in items {
                    let b = Int(truncatingIfNeeded: digits(item.cell) >> shift) & 0xFF
                    out[start[b]] = item
                    start[b] += 1
                }
            }
            swap(&items, &other)
        }
    }

    static func key(_ x: Double, _ y: Double, _ cell: Double) -> Int64 {
        let cx = Int64((x / cell).rounded(.down)), cy = Int64((y / cell).rounded(.down))
        return (cx << 32) ^ (cy & 0xFFFF_FFFF)
    }

    func key(_ x: Double, _ y: Double) -> Int64 { CellGrid.key(x, y, cell) }

    /// Calls `body` with the index of every occupied cell within `reach` cells of `key`.
    @inline(__always)
    func forEachNeighbour(of key: Int64, reach: Int64, _ body: (Int) -> Void) {
        let cx = key >> 32, cy = Int64(Int32(truncatingIfNeeded: key))
        for dx in -reach...reach {
            for dy in -reach...reach {
                let k = ((cx + dx) << 32) ^ ((cy + dy) & 0xFFFF_FFFF)
                let i = index.find(k)
                if i >= 0 { body(i) }
            }
        }
    }

    /// The key of the cell of (x, y), and the offsets (within ±2) of the cells around it that
    /// can hold a point within `reach` metres: a window smaller than two cells skips most of
    /// the 5×5 cells, and what is found there stays the same.
    @inline(__always)
    static func box(near x: Double, _ y: Double, within reach: Double, cell: Double)
        -> (key: Int64, dx: ClosedRange<Int64>, dy: ClosedRange<Int64>)
    {
        let fx = x / cell, fy = y / cell
        // Slack for the rounding of the divisions, at any magnitude of the coordinates.
        let r = reach / cell + 0.001 + 1e-12 * max(abs(fx), abs(fy))
        let fx0 = fx.rounded(.down), fy0 = fy.rounded(.down)
        let x0 = Int64(max(-2, (fx - r).rounded(.down) - fx0)), x1 = Int64(min(2, (fx + r).rounded(.down) - fx0))
        let y0 = Int64(max(-2, (fy - r).rounded(.down) - fy0)), y1 = Int64(min(2, (fy + r).rounded(.down) - fy0))
        return (CellGrid.key(x, y, cell), x0...x1, y0...y1)
    }

    /// Calls `body` with the key of every cell in `box(near:within:cell:)`, in the order of
    /// `forEachNeighbour(reach: 2)`.
    @inline(__always)
    static func forEachKey(near x: Double, _ y: Double, within reach: Double, cell: Double, _ body: (Int64) -> Void) {
        let (key, dxs, dys) = box(near: x, y, within: reach, cell: cell)
        let cx = key >> 32, cy = Int64(Int32(truncatingIfNeeded: key))
        for dx in dxs {
            for dy in dys { body(((cx + dx) << 32) ^ ((cy + dy) & 0xFFFF_FFFF)) }
        }
    }

    /// Calls `body` with every occupied cell that can hold a point within `reach` metres of
    /// (x, y), in the order of `forEachNeighbour(reach: 2)`: from the neighbour list of `home`,
    /// the occupied cell holding (x, y), or, when that cell is empty (-1), through the index.
    @inline(__always)
    func forEachCell(near x: Double, _ y: Double, within reach: Double, in home: Int, _ neighbours: NeighbourLists,
                     _ body: (Int) -> Void) {
        let (key, dxs, dys) = CellGrid.box(near: x, y, within: reach, cell: cell)
        guard home >= 0 else {
            CellGrid.forEachKey(near: x, y, within: reach, cell: cell) { key in
                let i = index.find(key)
                if i >= 0 { body(i) }
            }
            return
        }
        neighbours.forEach(of: home) { n in
            let (dx, dy) = offset(of: cells[n].key, from: key)
            if dxs.contains(dx) && dys.contains(dy) { body(n) }
        }
    }

    /// The occupied cell holding (x, y), or -1. `near`, an occupied cell close by (or -1), is
    /// where to look first: its neighbour list is in cache, the index mostly is not.
    func cell(containing x: Double, _ y: Double, near: Int, _ neighbours: NeighbourLists) -> Int {
        let key = key(x, y)
        guard near >= 0 else { return index.find(key) }
        let (dx, dy) = offset(of: key, from: cells[near].key)
        if abs(dx) > 2 || abs(dy) > 2 { return index.find(key) }
        var found = -1
        neighbours.forEach(of: near) { n in if cells[n].key == key { found = n } }
        return found
    }

    /// Offset in cells between two keys, in their 32-bit halves, which wrap as the keys do.
    @inline(__always)
    private func offset(of key: Int64, from origin: Int64) -> (dx: Int64, dy: Int64) {
        (Int64(Int32(truncatingIfNeeded: key >> 32) &- Int32(truncatingIfNeeded: origin >> 32)),
         Int64(Int32(truncatingIfNeeded: key) &- Int32(truncatingIfNeeded: origin)))
    }

    /// The occupied cell with `key`, or -1.
    func cell(with key: Int64) -> Int { index.find(key) }

    /// Mean shift from the middle of cell `c`: up to 8 moves to the weighted mean of the points
    /// within `window` metres (`window2` its square), until a move is under 10 cm. Returns the
    /// mode and the occupied cell holding it, or -1.
    func climb(from c: Int, within window: Double, squared window2: Double, _ neighbours: NeighbourLists)
        -> (x: Double, y: Double, cell: Int)
    {
        var (cx, cy) = centre(of: cells[c].key)
        // The occupied cell holding (cx, cy), followed from cell to neighbouring cell.
        var at = c
        xs.withUnsafeBufferPointer { xs in
            ys.withUnsafeBufferPointer { ys in
                weights.withUnsafeBufferPointer { ws in
                    for _ in 0..<8 {
                        var sx = 0.0, sy = 0.0, sw = 0.0
                        forEachCell(near: cx, cy, within: window, in: at, neighbours) { n in
                            for k in cells[n].range {
                                let dx = xs[k] - cx, dy = ys[k] - cy
                                if dx * dx + dy * dy <= window2 {
                                    sx += xs[k] * ws[k]
                                    sy += ys[k] * ws[k]
                                    sw += ws[k]
                                }
                            }
                        }
                        guard sw > 0 else { break }
                        let nx = sx / sw, ny = sy / sw
                        let moved = (nx - cx) * (nx - cx) + (ny - cy) * (ny - cy)
                        cx = nx
                        cy = ny
                        at = cell(containing: cx, cy, near: at, neighbours)
                        if moved < 0.01 { break }
                    }
                }
            }
        }
        return (cx, cy, at)
    }

    /// The middle of the cell with `key`.
    func centre(of key: Int64) -> (x: Double, y: Double) {
        let cx = key >> 32, cy = Int64(Int32(truncatingIfNeeded: key))
        return ((Double(cx) + 0.5) * cell, (Double(cy) + 0.5) * cell)
    }
}

/// Each occupied cell's occupied neighbours within two cells (its 5×5 neighbourhood), in the
/// order of `CellGrid.forEachNeighbour`: found once, they spare the mean-shift walks nearly all
/// of their index look-ups.
struct NeighbourLists {
    private let start: [Int]
    private let list: [Int32]

    init(_ grid: CellGrid) {
        var start = [0], list: [Int32] = []
        start.reserveCapacity(grid.cells.count + 1)
        for c in grid.cells {
            grid.forEachNeighbour(of: c.key, reach: 2) { list.append(Int32(truncatingIfNeeded: $0)) }
            start.append(list.count)
        }
        self.start = start
        self.list = list
    }

    @inline(__always)
    func forEach(of cell: Int, _ body: (Int) -> Void) {
        for i in start[cell]..<start[cell + 1] { body(Int(list[i])) }
    }
}

/// Cell key → cell number, open addressing with a multiplicative hash: the neighbour look-ups
/// of clustering are its hot path, and the standard Dictionary's seeded SipHash cost half the
/// time there.
struct CellIndex {
    private var keys: [Int64]
    private var values: [Int32]
    private let mask: Int
    private let shift: UInt64
    private var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [Int64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    private func slot(_ key: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Sets the value for `key`; the table doubles when half full.
    mutating func insert(_ key: Int64, _ value: Int) {
        if 2 * (count + 1) > keys.count {
            var bigger = CellIndex(capacity: keys.count)
            for i in keys.indices where values[i] >= 0 { bigger.insert(keys[i], Int(values[i])) }
            self = bigger
        }
        var i = slot(key)
        while values[i] >= 0 && keys[i] != key { i = (i + 1) & mask }
        if values[i] < 0 { count += 1 }
        keys[i] = key
        values[i] = Int32(value)
    }

    /// The value for `key`, or -1.
    @inline(__always)
    func find(_ key: Int64) -> Int {
        var i = slot(key)
        while true {
            let v = values[i]
            if v < 0 { return -1 }
            if keys[i] == key { return Int(v) }
            i = (i + 1) & mask
        }
    }
}
