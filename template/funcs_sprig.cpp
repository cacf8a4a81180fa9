// sprig's function map as meshinject offers it: the pure families, and the
// impure names as known-but-refused entries, so a template calling one fails at
// load with a reason rather than with "not defined".

#include "template/functions.hpp"

namespace meshinject::tmpl {

void add_sprig_functions(function_table& t) {
  add_string_functions(t);
  add_list_functions(t);
  add_dict_functions(t);
  add_default_functions(t);
  add_math_functions(t);
  add_encoding_functions(t);
  add_semver_functions(t);
  add_regex_functions(t);
  // A variant is rendered once and served to many pods, so a result that
  // changes between calls (the clock, randomness, DNS, the process
  // environment) cannot be honoured.
  static constexpr std::string_view impure[] = {
      "now", "date", "dateInZone", "date_in_zone", "dateModify", "date_modify", "mustDateModify",
      "must_date_modify", "ago", "htmlDate", "htmlDateInZone", "unixEpoch", "toDate", "mustToDate",
      "duration", "durationRound", "randAlpha", "randAlphaNum", "randAscii", "randNumeric", "randBytes",
      "randInt", "uuidv4", "genCA", "genCAWithKey", "genPrivateKey", "genSelfSignedCert",
      "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey", "getHostByName", "expandenv",
      "env", "shuffle"};
  for (std::string_view name : impure) t.add({.name = name, .impl = nullptr});
}

}  // namespace meshinject::tmpl
