#include "services/scheduling/src/scheduling_handler.h"

#include "common/server/forwarding_rpc.h"

namespace crm::scheduling {

#define CRM_DEFINE(Rpc, Request, Response) CRM_FORWARDING_RPC(SchedulingHandler, Rpc, Request, Response)
CRM_SCHEDULING_RPCS(CRM_DEFINE)
#undef CRM_DEFINE

}  // namespace crm::scheduling
