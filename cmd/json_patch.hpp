#pragma once
// RFC 6902 JSON Patch applied to a yaml::value tree, so kube-inject can apply the
// webhook's own patch to a pod template and keep the rest of the document (key
// order included) as it was. All six operations are implemented (the engine
// emits add, remove and replace); JSON pointers follow RFC 6901 (`~0`, `~1`,
// and `-` for the end of an array).

#include <string>
#include <string_view>
#include <vector>

#include "cmd/yaml_io.hpp"

namespace meshinject::cmd::json_patch {

// Applies `patch_json` (a JSON array of operations) to `doc`, all or nothing.
// Returns "" on success, else why the patch does not apply, naming the
// operation ("operation 3 (add /spec/containers/-): ...").
std::string apply(yaml::value& doc, std::string_view patch_json);

// RFC 6901: "/a~1b/c~0d" -> {"a/b", "c~d"}. Returns false for a pointer that
// does not start with '/' (and is not empty) or holds a '~' escape other than
// ~0 and ~1.
bool parse_pointer(std::string_view pointer, std::vector<std::string>& tokens);

}  // namespace meshinject::cmd::json_patch
