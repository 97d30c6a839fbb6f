#include "cpu_features.h"
