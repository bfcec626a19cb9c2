#include "carbon/intensity.h"

namespace aegis::carbon {

IntensityBoard& process_board() {
  static IntensityBoard board;
  return board;
}

}  // namespace aegis::carbon
