// `gatehouse-bench merge a.json b.json ...`: one report from the results files of shards (or of
// runs one after the other), histograms added bucket by bucket so the percentiles are those of
// one run over all the samples.
#pragma once

namespace gatehouse::bench {

int merge_main(int argc, char** argv);  // argv[0] is "merge"

}  // namespace gatehouse::bench
