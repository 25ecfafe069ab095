//! `ParamStore`: every parameter of a network in ONE flat `Vec<f32>`, with named views into it.
//!
//! A flat buffer makes every per-parameter quantity of the methods (Fisher, θ*, ω, GEM's rows of G,
//! the SGD mask's ranges) a plain `&[f32]` of length `len()`, laid out exactly like the parameters.
//!
//! Beside the parameters the store keeps the network's *buffers*: state that is not trained and is
//! no parameter of any method (batch norm's running mean and variance), in a flat buffer of its
//! own, so a snapshot (`clone`) and a comparison (`==`) cover both, as PyTorch's `state_dict` does.

use std::ops::Range;

/// The five layer groups of PROTOCOL section 3, input (G1) to output (G5).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Group {
    G1,
    G2,
    G3,
    G4,
    G5,
}

impl Group {
    pub const ALL: [Group; 5] = [Group::G1, Group::G2, Group::G3, Group::G4, Group::G5];
    /// 0 for G1 .. 4 for G5.
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn name(self) -> &'static str {
        ["G1", "G2", "G3", "G4", "G5"][self.index()]
    }
}

/// Handle to one parameter tensor of a [`ParamStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId(pub(crate) usize);

/// Handle to one buffer tensor (non-parameter state) of a [`ParamStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferId(usize);

/// Name, group, shape and place in the flat buffer of one parameter (or buffer) tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    pub group: Group,
    pub shape: Vec<usize>,
    pub range: Range<usize>,
}

/// All parameters of a network, in one contiguous buffer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamStore {
    data: Vec<f32>,
    infos: Vec<ParamInfo>,
    buffers: Vec<f32>,
    buffer_infos: Vec<ParamInfo>,
}

impl ParamStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a zero-filled tensor and returns its handle.
    pub fn add(&mut self, name: &str, group: Group, shape: &[usize]) -> ParamId {
        let len: usize = shape.iter().product();
        let start = self.data.len();
        self.data.resize(start + len, 0.0);
        self.infos.push(ParamInfo {
            name: name.to_string(),
            group,
            shape: shape.to_vec(),
            range: start..start + len,
        });
        ParamId(self.infos.len() - 1)
    }

    /// Appends a buffer tensor filled with `fill` and returns its handle.
    pub fn add_buffer(&mut self, name: &str, group: Group, shape: &[usize], fill: f32) -> BufferId {
        let len: usize = shape.iter().product();
        let start = self.buffers.len();
        self.buffers.resize(start + len, fill);
        self.buffer_infos.push(ParamInfo {
            name: name.to_string(),
            group,
            shape: shape.to_vec(),
            range: start..start + len,
        });
        BufferId(self.buffer_infos.len() - 1)
    }
    pub fn buffer(&self, id: BufferId) -> &[f32] {
        &self.buffers[self.buffer_infos[id.0].range.clone()]
    }
    pub fn buffer_mut(&mut self, id: BufferId) -> &mut [f32] {
        let r = self.buffer_infos[id.0].range.clone();
        &mut self.buffers[r]
    }
    /// Two buffers, `a` added before `b`, both writable (batch norm's running mean and variance).
    pub fn buffer_pair_mut(&mut self, a: BufferId, b: BufferId) -> (&mut [f32], &mut [f32]) {
        let ra = self.buffer_infos[a.0].range.clone();
        let rb = self.buffer_infos[b.0].range.clone();
        assert!(
            ra.end <= rb.start,
            "buffer_pair_mut: `a` must come before `b`"
        );
        let (lo, hi) = self.buffers.split_at_mut(rb.start);
        (&mut lo[ra], &mut hi[..rb.len()])
    }
    pub fn buffer_info(&self, id: BufferId) -> &ParamInfo {
        &self.buffer_infos[id.0]
    }
    pub fn buffer_ids(&self) -> impl Iterator<Item = BufferId> {
        (0..self.buffer_infos.len()).map(BufferId)
    }
    /// Every buffer scalar, in the order they were added (empty for a network without batch norm).
    pub fn buffers_flat(&self) -> &[f32] {
        &self.buffers
    }

    /// Total number of parameter scalars (buffers are not counted).
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn flat(&self) -> &[f32] {
        &self.data
    }
    pub fn flat_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }
    pub fn get(&self, id: ParamId) -> &[f32] {
        &self.data[self.infos[id.0].range.clone()]
    }
    pub fn get_mut(&mut self, id: ParamId) -> &mut [f32] {
        let r = self.infos[id.0].range.clone();
        &mut self.data[r]
    }
    pub fn info(&self, id: ParamId) -> &ParamInfo {
        &self.infos[id.0]
    }
    pub fn ids(&self) -> impl Iterator<Item = ParamId> {
        (0..self.infos.len()).map(ParamId)
    }
    pub fn by_name(&self, name: &str) -> Option<ParamId> {
        self.infos.iter().position(|i| i.name == name).map(ParamId)
    }

    /// The flat ranges of the parameters of any of `groups`, adjacent ones merged, in buffer order.
    pub fn ranges(&self, groups: &[Group]) -> Vec<Range<usize>> {
        let chosen: Vec<bool> = self
            .infos
            .iter()
            .map(|i| groups.contains(&i.group))
            .collect();
        self.ranges_of(&chosen)
    }

    /// The flat ranges of the parameters whose flag is set (`chosen` is indexed like
    /// [`ParamStore::ids`]), adjacent ones merged, in buffer order.
    pub fn ranges_of(&self, chosen: &[bool]) -> Vec<Range<usize>> {
        assert_eq!(chosen.len(), self.infos.len(), "one flag per parameter");
        let mut out: Vec<Range<usize>> = Vec::new();
        for info in self.infos.iter().zip(chosen).filter(|c| *c.1).map(|c| c.0) {
            match out.last_mut() {
                Some(last) if last.end == info.range.start => last.end = info.range.end,
                _ => out.push(info.range.clone()),
            }
        }
        out
    }

    /// The parameter that flat index `i` belongs to.
    pub fn at(&self, i: usize) -> Option<&ParamInfo> {
        self.infos.iter().find(|info| info.range.contains(&i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_contiguous_and_masks_follow_groups() {
        let mut p = ParamStore::new();
        let a = p.add("a", Group::G1, &[2, 3]);
        let b = p.add("b", Group::G5, &[4]);
        assert_eq!(p.len(), 10);
        p.get_mut(b).copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(&p.flat()[6..], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(p.info(a).range, 0..6);
        assert_eq!(p.by_name("b"), Some(b));
        assert_eq!(p.ranges(&[Group::G5]), vec![6..10]);
        assert_eq!(p.ranges(&[Group::G1]), vec![0..6]);
        assert_eq!(p.at(7).map(|i| i.name.as_str()), Some("b"));
        assert_eq!(p.at(10), None);
    }

    #[test]
    fn ranges_merge_adjacent_parameters_only() {
        let mut p = ParamStore::new();
        p.add("a", Group::G1, &[2]);
        p.add("b", Group::G1, &[3]);
        p.add("c", Group::G4, &[1]);
        p.add("d", Group::G5, &[4]);
        assert_eq!(p.ranges(&[Group::G1]), vec![0..5]);
        assert_eq!(p.ranges(&[Group::G1, Group::G5]), vec![0..5, 6..10]);
        assert_eq!(p.ranges(&[Group::G4, Group::G5]), vec![5..10]);
        assert_eq!(p.ranges_of(&[false, true, false, true]), vec![2..5, 6..10]);
        assert!(p.ranges(&[Group::G2]).is_empty());
    }

    #[test]
    fn buffers_live_beside_the_parameters() {
        let mut p = ParamStore::new();
        p.add("w", Group::G1, &[3]);
        let var = p.add_buffer("bn.var", Group::G1, &[2], 1.0);
        assert_eq!((p.len(), p.flat().len()), (3, 3));
        assert_eq!(p.buffer(var), &[1.0, 1.0]);
        assert_eq!(p.buffer_info(var).name, "bn.var");
        let q = p.clone();
        p.buffer_mut(var)[1] = 0.5;
        assert_ne!(p, q, "a snapshot and a comparison cover the buffers");
        assert_eq!(p.buffers_flat(), &[1.0, 0.5]);
        let mean = p.add_buffer("bn.mean", Group::G1, &[1], 0.0);
        let (a, b) = p.buffer_pair_mut(var, mean);
        (a[0], b[0]) = (2.0, 3.0);
        assert_eq!(p.buffers_flat(), &[2.0, 0.5, 3.0]);
        assert_eq!(p.buffer_ids().count(), 2);
    }
}
