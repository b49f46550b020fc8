"""Demo documents (演示文件): believable Chinese PDFs for every document type.

A demo dossier must look like what a housing office really files, so each page carries the
household's own figures in the wording of the seed policies. The text layer has to read back
through pypdf (full-text search, 四性检测), hence reportlab's built-in CID font STSong-Light:
it is never embedded, which also keeps a file near 3 KB and rendering fast. Bytes are
deterministic (invariant mode, no clock, no randomness) so the demo archive rebuilds identically.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
import zlib

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen import canvas

from ..records.pdf import chinese_font

FONT = chinese_font()
PAGE_W, PAGE_H = A4
LEFT, RIGHT, TOP, BOTTOM = 72.0, PAGE_W - 72.0, PAGE_H - 96.0, 80.0
WIDTH = RIGHT - LEFT
BLANK = "________"

BUREAU, CENTER = "{city}住房和城乡建设局", "{city}住房保障中心"
HH = ("=申请人|{name}|公民身份号码|{id}|保障类别|{category}|家庭人口|{size}人|人均月收入|{income}元"
      "|家庭资产|{assets}元|人均住房面积|{hh_area}平方米|联系电话|{phone}|所在辖区|{district}|现居住地址|{address}")
PARTY = "=承租人|{name}|公民身份号码|{id}|家庭人口|{size}人|联系电话|{phone}"
UNIT = ("=项目名称|{project}|房号|{room}|户型|{layout}|建筑面积|{area}平方米|月租金|{unit_rent}元"
        "|产权性质|{ownership}|产权单位|{owner}|房屋坐落|{unit_address}")
LAW = "《{city}公共租赁住房管理办法》"

# code -> (heading, default issuer, body). Body lines: "#" sub-heading, "=" label|value grid,
# "@" a table or drawing, ">" right-aligned (signatures), "<" unindented, "^" page break.
SPECS = {
    "subsidy_application": ("{city}公共租赁住房租赁补贴申请表", "{name}", [
        HH, "@members", "本户在市场上自行租赁住房，现按规定申请公共租赁住房租赁补贴，所附房屋租赁合同真实有效。"
        "本人承诺未享受其他住房补贴政策；家庭人口、收入、住房等情况发生变化时，在三十日内如实申报。",
        ">申请人（签字）：{name}", ">{date}"]),
    "market_lease": ("房屋租赁合同", "{name}", [
        "=承租人|{name}|公民身份号码|{id}|家庭人口|{size}人|联系电话|{phone}",
        "出租人将其所有的位于{city}的住房一套出租给承租人居住使用，租赁期限一年，租金按月支付。"
        "本合同已通过住房租赁服务平台办理网签备案。", ">出租人（签字）：________    承租人（签字）：{name}", ">{date}"]),
    "subsidy_payment": ("公共租赁住房租赁补贴发放凭证", CENTER, [
        "=保障对象|{name}|公民身份号码|{id}|保障类别|{category}|家庭人口|{size}人",
        "根据租赁补贴核定结果，本期租赁补贴已按核定标准拨付至保障对象指定的银行账户。",
        ">{city}住房保障中心（盖章）", ">{date}"]),
    "application_form": ("{city}公共租赁住房申请表", "{name}", [
        "#一、申请人及家庭基本情况", HH, "#二、共同申请家庭成员", "@members", "#三、住房及经济状况",
        "申请家庭现居住于{address}，家庭人均住房建筑面积{hh_area}平方米，家庭人均月收入{income}元，"
        "家庭资产合计{assets}元，申请保障类别为{category}。", "^", "#四、申请人声明",
        "本人自愿申请{city}公共租赁住房，已认真阅读并知晓公共租赁住房申请条件、审核程序及相关管理规定。"
        "本人及共同申请人所填报的家庭人口、收入、资产及住房情况真实、完整、有效，同意住房保障、民政、公安、"
        "不动产登记等部门依法核查。",
        "如有隐瞒或者提供虚假材料，本人愿意承担取消申请资格、五年内不得再次申请并记入诚信档案等相应责任。",
        "#五、受理意见", "经查验，申请人提交的身份证明、户籍证明、婚姻状况证明、收入证明及住房情况证明等材料"
        "齐全，符合受理要求，予以受理，转入审核程序。",
        ">申请人（签字）：{name}", ">受理单位：{district}街道办事处", ">{date}"]),
    "id_card": ("居民身份证复印件", "{city}公安局", [
        "=姓名|{name}|公民身份号码|{id}|住址|{address}|签发机关|{city}公安局",
        "以上复印件与原件核对一致，仅供申请{city}公共租赁住房使用，他用无效。",
        "#共同申请人身份证件", "@members"]),
    "hukou": ("居民户口簿（户籍证明）", "{city}公安局{district}分局", [
        "=户主姓名|{name}|户别|家庭户|住址|{address}|登记机关|{issuer}", "@members",
        "兹证明{name}（公民身份号码{id}）户籍登记于{address}，户内共{size}人，以上情况属实。",
        "本证明仅用于申请公共租赁住房资格审核。"]),
    "marriage_proof": ("婚姻状况证明", "{city}{district}民政局", [
        "<{city}住房和城乡建设局：", "经查询全国婚姻登记信息系统，{name}（公民身份号码{id}）婚姻登记状况为：{marital}{spouse}。",
        "本证明仅用于申请公共租赁住房资格审核，自出具之日起三个月内有效。", "特此证明。"]),
    "income_proof": ("收入证明", "{city}某有限公司", [
        "<{city}住房和城乡建设局：", "兹证明{name}（公民身份号码{id}）系我单位在职职工，近十二个月月平均"
        "应发工资{income}元（含基本工资、绩效工资及各类津贴补贴），已依法缴纳社会保险及住房公积金。",
        "我单位对上述证明内容的真实性负责，如有虚假，愿承担相应法律责任，并配合住房保障部门核查。", "特此证明。"]),
    "housing_proof": ("住房情况证明", "{city}不动产登记中心", [
        "经查询{city}不动产登记信息系统，截至{date}，{name}（公民身份号码{id}）及其共同申请家庭成员在本市"
        "行政区域内{housing}。", "@members",
        "本证明依据查询日不动产登记簿记载出具，仅用于公共租赁住房申请审核，自出具之日起三个月内有效。"]),
    "pledge": ("承诺书", "{name}", [
        "本人{name}（公民身份号码{id}）代表本户家庭（共{size}人）申请{city}公共租赁住房，现郑重承诺：",
        "一、所提交的家庭人口、户籍、婚姻、收入、资产及住房情况等申请材料全部真实、合法、有效，"
        "不存在隐瞒、虚报或者伪造情形。",
        "二、家庭人口、收入、住房等情况发生变化时，在三十日内主动向住房保障部门如实申报。",
        "三、如有提供虚假材料骗取公共租赁住房的，自愿接受取消保障资格、退回所承租住房、按市场租金补缴"
        "承租期间租金，五年内不得再次申请，并记入个人诚信档案；构成犯罪的，依法承担刑事责任。",
        ">承诺人（签字）：{name}", ">{date}"]),
    "check_authorization": ("家庭经济状况核对授权书", "{name}", [
        "本人及共同申请家庭成员自愿申请{city}公共租赁住房，现授权{city}居民家庭经济状况核对机构及住房保障"
        "部门，向公安、人力资源社会保障、不动产登记、市场监管、税务、住房公积金管理及银行、证券、保险等机构"
        "查询、核对本家庭成员的户籍、车辆、住房、工商登记、纳税、社会保险、公积金、存款及有价证券等信息。",
        "本授权书自签字之日起至保障资格终止之日止有效。授权人已知悉查询结果将用于保障资格审核及动态复核。",
        "@members", ">授权人（签字）：{name}及共同申请人", ">{date}"]),
    "special_status": ("特殊身份证明", "{city}{district}民政局", [
        "兹证明{name}（公民身份号码{id}）家庭属于{category}保障对象，经我局审核认定，相关证件在有效期内。",
        "依据" + LAW + "，低保家庭、特困人员、重度残疾人员、优抚对象、见义勇为人员及计划生育特殊困难家庭"
        "等在配租时予以优先保障。", "特此证明。"]),
    "review_opinion": ("公共租赁住房申请审核意见", BUREAU, [
        HH, "#街道办事处初审意见", "经入户调查和邻里访问，申请家庭现居住于{address}，家庭人口{size}人，"
        "申报情况与实际相符，材料齐全，同意上报。", "#民政部门审核意见",
        "经居民家庭经济状况核对，申请家庭人均月收入{income}元，家庭资产{assets}元，符合本市公共租赁住房"
        "收入和财产准入标准。", "#住房保障部门审核意见", "经不动产登记信息查询，申请家庭人均住房建筑面积"
        "{hh_area}平方米，符合住房困难条件。拟同意纳入{city}公共租赁住房保障范围，予以公示。"]),
    "check_report": ("居民家庭经济状况核对报告", "{city}居民家庭经济状况核对中心", [
        "受{city}住房和城乡建设局委托，本中心于{date}对{name}家庭（共{size}人）的经济状况进行了信息化核对，"
        "核对结果如下：", "=被核对人|{name}|公民身份号码|{id}|家庭人均月收入|{income}元|家庭月收入合计"
        "|{income_total}元|家庭资产合计|{assets}元|机动车辆|未查询到登记信息|工商登记|未查询到登记信息"
        "|住房公积金|正常缴存", "核对结论：申请家庭收入及财产状况符合{city}公共租赁住房保障标准。"
        "本报告仅供住房保障资格审核使用，自出具之日起六个月内有效。"]),
    "publicity_record": ("公共租赁住房保障对象公示记录", BUREAU, [
        "根据" + LAW + "规定，现将{name}等申请家庭的审核结果予以公示，公示期为{pub_days}日。",
        "=公示对象|{name}|家庭人口|{size}人|保障类别|{category}|人均月收入|{income}元"
        "|公示地点|{district}街道办事处公示栏及{city}住房和城乡建设局门户网站|公示期间|{date}至{pub_end}",
        "公示期间，任何单位和个人对公示对象有异议的，可向{city}住房和城乡建设局书面反映。反映情况应当"
        "实事求是，并提供真实姓名和联系方式，以便调查核实。",
        "公示期满无异议或者异议经核实不成立的，登记为公共租赁住房保障对象，纳入轮候。"]),
    "objection": ("公示异议及处理记录", BUREAU, [
        "公示期间，我局收到群众书面反映，称{name}家庭可能存在未如实申报家庭收入及住房情况的问题。",
        "#调查核实情况", "经会同{district}街道办事处入户调查，并再次核对不动产登记及车辆登记信息，申请家庭"
        "人均月收入{income}元，人均住房建筑面积{hh_area}平方米，{finding}。", "#处理意见",
        "{decision}处理结果已书面告知异议人及申请人。"]),
    "registration_notice": ("公共租赁住房保障资格登记通知书", BUREAU, [
        "<{name}（公民身份号码{id}）：", "您家庭申请的公共租赁住房保障资格，经审核、公示，符合{city}公共租赁"
        "住房保障条件，现予以登记，保障类别为{category}，轮候家庭人口{size}人。",
        "轮候期间，您家庭的人口、户籍、收入、住房等情况发生变化的，应当在三十日内如实申报；"
        "不再符合条件的，将取消轮候资格。",
        "配租时按照优先保障对象先行、其他对象按轮候顺序摇号的原则进行，请保持联系电话{phone}畅通。"]),
    "lottery_record": ("公共租赁住房摇号配租结果", BUREAU, [
        "{city}住房和城乡建设局于{date}在公证机关现场监督下，对{project}房源组织公开摇号，"
        "摇号过程全程录像，结果当场公布。",
        "=申请人|{name}|公民身份号码|{id}|选房顺序号|{lot}|配租项目|{project}|户型|{layout}|建筑面积|{area}平方米",
        "中签家庭应当按选房顺序号在规定时间内到场选房，无正当理由放弃选房的，视为自动放弃本次配租资格。",
        ">公证员：________    监督员：________"]),
    "allocation_notice": ("公共租赁住房配租确认通知书", BUREAU, [
        "<{name}：", "根据摇号及选房结果，现将{project}{room}配租给您家庭承租。该房屋坐落于{unit_address}，"
        "户型{layout}，建筑面积{area}平方米，月租金{rent}元。", PARTY, UNIT,
        "请您自本通知书送达之日起十日内，持本通知书及身份证件到{owner}签订《公共租赁住房租赁合同》，"
        "并缴纳履约保证金{deposit}元。逾期未签订合同的，视为放弃配租。",
        "无正当理由放弃配租的，两年内不得再次申请公共租赁住房。"]),
    "lease_contract": ("{city}公共租赁住房租赁合同", "{owner}", [
        "=出租人（甲方）|{owner}|承租人（乙方）|{name}|乙方身份证号码|{id}|联系电话|{phone}",
        "根据《公共租赁住房管理办法》（住房和城乡建设部令第11号）及{city}有关规定，甲乙双方在平等、自愿的"
        "基础上，就乙方承租公共租赁住房事宜订立本合同。", "#第一条  房屋基本情况", UNIT, "#第二条  租赁期限",
        "租赁期限自{start}起至{end}止，共{term}。租赁期满需要续租的，乙方应当在期满前三个月提出申请，"
        "经审核仍符合条件的，重新签订租赁合同。", "#第三条  租金及履约保证金",
        "月租金为人民币{rent}元，年租金合计{rent_year}元，乙方应当于每月十日前缴纳当月租金。签订本合同时，"
        "乙方向甲方缴纳履约保证金{deposit}元（{deposit_cn}），合同终止且结清各项费用后无息退还。",
        "水、电、燃气、有线电视、网络及物业服务等费用由乙方自行承担。", "^", "#第四条  乙方义务",
        "乙方应当按照合同约定的用途合理使用房屋，不得将所承租的公共租赁住房转租、出借或者擅自调换，"
        "不得改变房屋用途，不得破坏或者擅自装修房屋，不得在房屋内从事违法活动。",
        "乙方应当每年按规定如实申报家庭人口、收入及住房变动情况，接受住房保障部门的年度复核。",
        "#第五条  合同解除", "乙方有下列情形之一的，甲方有权解除合同、收回房屋，并记入乙方诚信档案："
        "（一）转租、出借或者擅自调换所承租公共租赁住房的；（二）改变房屋用途的；（三）破坏或者擅自装修"
        "且拒不恢复原状的；（四）在房屋内从事违法活动的；（五）无正当理由连续六个月以上闲置的；"
        "（六）累计六个月以上未缴纳租金的。", "#第六条  退出",
        "合同终止或者解除后，乙方应当在规定期限内腾退房屋，结清租金及各项费用；逾期不腾退的，按市场租金"
        "标准计收租金，并依法申请人民法院强制执行。", "#第七条  其他",
        "本合同一式三份，甲乙双方各执一份，住房保障部门备案一份，自双方签字盖章之日起生效。",
        ">甲方（盖章）：{owner}    乙方（签字）：{name}", ">签订日期：{date}"]),
    "deposit_receipt": ("公共租赁住房履约保证金收据", "{owner}", [
        "=交款人|{name}|公民身份号码|{id}|房屋坐落|{project}{room}|收款项目|履约保证金"
        "|金额（小写）|{deposit}元|金额（大写）|{deposit_cn}|收款方式|银行转账|收款日期|{date}",
        "上述款项为承租人履行《公共租赁住房租赁合同》的保证金，租赁合同终止、房屋腾退验收合格并结清租金、"
        "水电等费用后，凭本收据无息退还。本收据遗失不补，请妥善保管。",
        ">收款单位（盖章）：{owner}    经办人：________"]),
    "handover": ("公共租赁住房入住交接单", "{owner}", [
        PARTY, UNIT, "@inspect", "承租人已现场查验房屋及附属设施，确认上述情况属实，并领取入户门钥匙3把。"
        "水表、电表、燃气表读数已双方确认，自交接之日起产生的费用由承租人承担。",
        ">交房人：{owner}    接收人（签字）：{name}", ">{date}"]),
    "annual_declaration": ("公共租赁住房年度申报表（{year}年度）", "{name}", [
        HH, "@members", "本人承诺上述家庭人口、收入、资产和住房情况均为{year}年度实际情况，无隐瞒、虚报。",
        "承租家庭未按规定进行年度申报的，视为自动放弃保障资格；申报不实的，住房保障部门有权调整租金、"
        "终止租赁合同并收回住房。", ">申报人（签字）：{name}", ">{date}"]),
    "recheck_opinion": ("公共租赁住房年度复核意见", BUREAU, [
        HH, "经对{name}家庭{year}年度申报材料的审核及经济状况核对，该家庭现有人口{size}人，人均月收入"
        "{income}元，家庭资产{assets}元，人均住房建筑面积{hh_area}平方米。",
        "复核结论：该家庭仍符合{city}公共租赁住房保障条件，继续保留保障资格，租金标准维持不变。",
        "承租家庭收入、住房等情况不再符合保障条件的，应当在规定期限内退出；确有困难的，可给予不超过三个月"
        "的过渡期，过渡期内按合同租金的1.5倍计收租金。"]),
    "rent_record": ("公共租赁住房租金缴纳记录", "{owner}", [
        PARTY, "=项目名称|{project}|房号|{room}|月租金|{rent}元|租赁期限|{start}至{end}", "@rent",
        "以上记录由出租单位根据收款凭证逐月登记。承租人累计六个月以上未缴纳租金的，出租单位应当依法解除"
        "租赁合同、收回房屋，并将有关情况记入承租人诚信档案。"]),
    "change_request": ("公共租赁住房承租家庭变更申请", "{name}", [
        "<{city}住房和城乡建设局：", "本人{name}（公民身份号码{id}）承租{project}{room}，因家庭成员情况发生"
        "变化，现申请变更承租家庭信息，变更后家庭人口{size}人，具体如下：", "@members",
        "本人承诺变更申请所附材料真实有效。变更后家庭情况不符合保障条件的，愿意按规定退出所承租住房。",
        ">申请人（签字）：{name}", ">{date}"]),
    "exit_notice": ("公共租赁住房退出通知书", BUREAU, [
        "<{name}（公民身份号码{id}）：", "经{year}年度复核，您家庭人均月收入{income}元、人均住房建筑面积"
        "{hh_area}平方米，已不再符合{city}公共租赁住房保障条件。根据" + LAW + "，现通知您退出所承租的"
        "{project}{room}。", "请您自收到本通知之日起三个月内腾退房屋，结清租金、水电等费用，并办理退房验收"
        "手续。过渡期内按合同租金的1.5倍计收租金；逾期拒不腾退的，按市场租金标准计收，记入诚信档案，"
        "五年内不得再次申请，并依法申请人民法院强制执行。",
        "如对本通知有异议，可在收到本通知之日起十五日内向我局书面申请复核。"]),
    "vacate_inspection": ("公共租赁住房腾退验收单", "{owner}", [
        PARTY, UNIT, "@inspect", "验收结论：房屋结构及附属设施完好，承租人已交回入户门钥匙3把，水、电、燃气"
        "费用已结清，同意办理退房手续，履约保证金{deposit}元按规定退还。",
        ">验收人：________    承租人（签字）：{name}", ">{owner}", ">{date}"]),
    "settlement": ("公共租赁住房退租结算凭证", "{owner}", [
        PARTY, "=项目名称|{project}|房号|{room}", "@settle",
        "以上款项经双方核对无误。结算完成后，双方租赁关系终止，出租单位凭本凭证退还履约保证金。"]),
    "completion_acceptance": ("房屋建筑工程竣工验收备案表", BUREAU, [
        "=工程名称|{project}|建设地点|{unit_address}|建设单位|{owner}|结构类型|钢筋混凝土剪力墙结构"
        "|所含房号|{room}|户型|{layout}", "该工程已按设计文件和合同约定完成全部内容，经建设、勘察、设计、"
        "施工、监理单位共同验收，工程质量符合《建筑工程施工质量验收统一标准》（GB 50300）及有关强制性标准，"
        "验收合格。", "规划、消防、人防、节能等专项验收均已通过，竣工验收资料齐全，准予备案。"]),
    "property_registration": ("不动产登记证明", "{city}不动产登记中心", [
        "=权利人|{owner}|产权性质|{ownership}|项目名称|{project}|房号|{room}|坐落|{unit_address}{room}"
        "|不动产单元号|{unit_id}|用途|成套住宅（公共租赁住房）|建筑面积|{area}平方米",
        "附记：本房屋为政府投资建设（筹集）的公共租赁住房，只租不售，未经批准不得转让、抵押或者改变用途。"]),
    "floor_plan": ("{project}户型图", "{city}建筑设计研究院", [
        "=项目名称|{project}|房号|{room}|户型|{layout}|建筑面积|{area}平方米|套内面积|{inner}平方米", "@plan",
        "说明：本图尺寸以毫米计，面积以平方米计，仅供公共租赁住房配租参考，以不动产测绘实测面积为准。"]),
    "rent_standard": ("公共租赁住房租金标准核定书", BUREAU, [
        "根据《{city}公共租赁住房租金管理办法》，经委托三家房地产估价机构评估，{project}同地段同类型住房"
        "市场租金平均为每月每平方米{market}元。公共租赁住房租金按不超过同地段市场租金的70%核定，"
        "年度调整幅度不超过5%。", "=项目名称|{project}|房号|{room}|建筑面积|{area}平方米"
        "|核定标准|{per_m2}元/平方米·月|月租金|{unit_rent}元|执行日期|{date}",
        "核定的租金标准自执行日期起施行，由产权单位向承租人收取，按规定上缴财政。"]),
    # 单位集体申请 (厦门 seed 002; demo/collective.py): the staff's contract, the employer's dossier
    "employment_contract": ("劳动合同", "{employer}", [
        "=用人单位（甲方）|{employer}|劳动者（乙方）|{name}|公民身份号码|{id}|合同期限|{months}个月",
        "甲乙双方根据《中华人民共和国劳动合同法》，经平等协商订立本合同。乙方在甲方从事专业技术工作，"
        "甲方依法为乙方缴纳社会保险。", ">甲方（盖章）：________    乙方（签字）：________"]),
    "collective_application": ("公共租赁住房单位集体申请表", "{employer}", [
        "=申请单位|{employer}|统一社会信用代码|{credit_code}|申请批次|{batch}|申请房源|{requested}套",
        "我单位根据批次租赁方案，为本单位符合条件的人才和在厦稳定就业职工集体申请公共租赁住房，"
        "申请人员见所附名册。", ">申请单位（盖章）：________"]),
    "staff_roster": ("公共租赁住房申请人员名册", "{employer}", [
        "=申请单位|{employer}|申请批次|{batch}|申请人数|{requested}人", "{roster}",
        "以上人员均与我单位签订1年以上劳动合同或者其他用工关系的合同。"]),
    "employer_license": ("统一社会信用代码证书（复印件）", "{employer}", [
        "=名称|{employer}|统一社会信用代码|{credit_code}", "复印件与原件一致。"]),
    "employer_pledge": ("申请单位承诺书", "{employer}", [
        "我单位对申报信息和申请材料的真实性、准确性、合法性负责；房源确定后按照公平、公开、公正的原则"
        "分配给符合申请条件的租赁对象，并承担所承租房源的使用监管等责任。",
        "=申请单位|{employer}|统一社会信用代码|{credit_code}", ">申请单位（盖章）：________"]),
    "quota_decision": ("房源租赁数量确定结果", CENTER, [
        "=批次|{batch}|申请单位|{employer}|房源租赁数量|{quotas}"]),
    "repair_record": ("公共租赁住房维修记录", "{owner}", [
        UNIT, "@repair", "维修完成后已经产权单位验收合格，维修费用由维修资金列支；属承租人使用不当造成损坏的，"
        "由承租人承担。"]),
}

RELATIONS = {"spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙子女",
             "grandparent": "祖父母", "sibling": "兄弟姐妹", "other": "其他"}
PUBLICITY_DAYS = {"厦门市": 5, "德州市": 3}  # seeds; the other cities publish for 7 days
_TOKENS = re.compile(r"[0-9A-Za-z.,:/%\-]+|.")
_HANG = set("，。、；：？！）》」”%")


class _Fields(dict):
    """Whatever the context lacks prints as a blank to fill in, as on a paper form."""

    def __missing__(self, key):
        return BLANK


def render_document(doc_type: str, ctx: dict) -> bytes:
    """One PDF of the given document type, filled in from the context."""
    if doc_type not in SPECS:
        raise ValueError(f"unknown document type: {doc_type!r}")
    heading, issuer, body = SPECS[doc_type]
    f = _fields(ctx)
    f["issuer"] = issuer = ctx.get("issuer") or issuer.format_map(f)
    heading = heading.format_map(f)
    title = ctx.get("title") or heading
    keep = [f[k] for k in ("name", "project", "room", "owner")] + [m.get("name") for m in f["_members"]]
    lay = _Layout(issuer, [issuer] + keep)
    lay.heading(heading, title)
    lay.meta(f"文号：{f['doc_no']}    责任者：{issuer}    日期：{f['date']}")
    for line in body:
        mark, rest = line[:1], line[1:]
        if line == "^":
            lay.break_page()
        elif mark == "#":
            lay.sub(rest.format_map(f))
        elif mark == "=":
            items = [s.format_map(f) for s in rest.split("|")]
            lay.grid(list(zip(items[::2], items[1::2])))
        elif mark == "@":
            BLOCKS[rest](lay, f)
        elif mark == ">":
            lay.right(rest.format_map(f))
        else:
            lay.para((rest if mark == "<" else line).format_map(f), indent=mark != "<")
    if not lay.seal_at:  # the body's signature lines do not name the issuer: sign for it
        lay.right(issuer)
        lay.right(f["date"])
    if issuer != f["name"]:  # people sign, offices seal
        ops, x, y = lay.seal_at
        ops.append((_seal, x, y))
    return _draw(lay.pages, f, title, heading)


def _day(d):
    return f"{d.year}年{d.month}月{d.day}日" if d else "____年__月__日"


def _money(v):
    return f"{v:,.2f}"


def _fields(ctx):
    """The context flattened into the names the templates use, each value already worded."""
    hh, unit, lease = (ctx.get(k) or {} for k in ("household", "unit", "lease"))
    city, date = ctx.get("jurisdiction") or "某市", ctx.get("date")
    start, end = lease.get("start"), lease.get("end")
    members, area, deposit = list(hh.get("members") or ()), unit.get("area"), lease.get("deposit")
    rent = lease.get("rent") if lease.get("rent") is not None else unit.get("rent")
    unit_rent = unit.get("rent") if unit.get("rent") is not None else rent
    f = _Fields(city=city, doc_no=ctx.get("doc_no") or BLANK, date=_day(date), start=_day(start),
                end=_day(end), year=str(date.year) if date else "____",
                owner=unit.get("owner") or CENTER.format(city=city),
                pub_days=str(PUBLICITY_DAYS.get(city, 7)),
                _members=members, _date=date, _start=start or date, _rent=rent, _deposit=deposit)
    words = {"name": hh.get("applicant_name"), "id": hh.get("id_number"),
             "category": hh.get("category"), "address": hh.get("address"), "phone": hh.get("phone"),
             "district": hh.get("district") or unit.get("district"), "project": unit.get("project"),
             "layout": unit.get("layout"), "ownership": unit.get("ownership"),
             "unit_address": unit.get("address"),
             "deposit_cn": _rmb(deposit) if deposit is not None else None,
             "pub_end": _day(date + dt.timedelta(days=int(f["pub_days"]))) if date else None}
    income = hh.get("income_per_capita")
    figures = {"income": income, "assets": hh.get("assets"),
               "hh_area": hh.get("housing_area_per_capita"), "area": area, "rent": rent,
               "unit_rent": unit_rent, "deposit": deposit,
               "income_total": income * (1 + len(members)) if income is not None else None,
               "rent_year": rent * 12 if rent is not None else None,
               "inner": area * 0.8 if area else None,
               "per_m2": unit_rent / area if area and unit_rent is not None else None,
               "market": unit_rent / area / 0.7 if area and unit_rent is not None else None}
    f.update({k: str(v) for k, v in words.items() if v})
    f.update({k: _money(v) for k, v in figures.items() if v is not None})
    f.update({k: str(ctx[k]) for k in ("employer", "credit_code", "batch", "requested", "months",
                                       "roster", "quotas") if ctx.get(k)})   # 单位集体申请
    upheld = bool(ctx.get("upheld"))  # the objection's outcome (异议成立 or not)
    f["finding"] = "但申请人隐瞒了个体经营收入，与申报情况不符" if upheld else "与申报情况一致"
    f["decision"] = ("经核实，异议成立，取消其保障资格，不予登记。" if upheld else
                     "经核实，异议不成立，维持审核意见，准予登记为公共租赁住房保障对象。")
    if hh:
        f["size"] = str(1 + len(members))
        spouse = next((m for m in members
                       if RELATIONS.get(m.get("relation"), m.get("relation")) == "配偶"), None)
        f["marital"] = "已婚" if spouse else "未婚"
        f["spouse"] = (f"，配偶{spouse.get('name') or BLANK}（公民身份号码{spouse.get('id_number') or BLANK}）"
                       if spouse else "（无婚姻登记记录）")
    if hh.get("housing_area_per_capita") is not None:
        a = hh["housing_area_per_capita"]
        f["housing"] = f"登记住房人均建筑面积{a:.2f}平方米" if a else "均无登记在名下的住房"
    if f.get("id") or f.get("name"):
        f["lot"] = str(zlib.crc32((f.get("id", "") + f.get("name", "")).encode()) % 300 + 1)
    building, unit_no = str(unit.get("building") or ""), str(unit.get("unit_no") or "")
    if building or unit_no:
        f["room"] = (building + ("" if building[-1:] in "栋幢楼座" else "栋") if building else "") \
            + unit_no + ("室" if unit_no.isdigit() else "")
        crc = zlib.crc32((f.get("project", "") + f["room"]).encode())
        f["unit_id"] = f"{crc % 10**12:012d}GB{crc % 10**5:05d}F{crc % 10**4:04d}{unit_no[-4:]:0>4}"
    if start and end:
        stop = end + dt.timedelta(days=1)
        months = (stop.year - start.year) * 12 + stop.month - start.month - (stop.day < start.day)
        f["term"] = f"{months // 12}年" if months % 12 == 0 else f"{months}个月"
    return f


def _rmb(value):
    """Receipts state amounts in 大写 as well, which is what makes them hard to alter."""
    digits, small = "零壹贰叁肆伍陆柒捌玖", ("", "拾", "佰", "仟")
    yuan, cents = divmod(round(value * 100), 100)
    s, out, zero = str(yuan), "", False
    for i, ch in enumerate(s):
        p, d = len(s) - 1 - i, int(ch)
        if d:
            out += ("零" if zero else "") + digits[d] + small[p % 4]
        zero = not d and (zero or bool(out))
        if p in (4, 8) and any(c != "0" for c in s[max(0, i - 3):i + 1]):
            out += "万" if p == 4 else "亿"
    jiao, fen = divmod(cents, 10)
    out = (out or "零") + "元"
    if not cents:
        return out + "整"
    return out + (digits[jiao] + "角" if jiao else "零") + (digits[fen] + "分" if fen else "")


def _width(text, size):
    return pdfmetrics.stringWidth(text, FONT, size)


def _wrap(text, width, size, indent=0.0, tokens=_TOKENS):
    """Chinese may break between any two characters, but figures, ID numbers and the names
    in `tokens` stay whole (a name split over two lines is lost to full-text search), and
    closing punctuation hangs into the margin rather than open a line."""
    lines, cur, w = [], "", indent
    for tok in tokens.findall(text):
        tw = _width(tok, size)
        if cur and w + tw > width and tok not in _HANG:
            lines.append(cur)
            cur, w = "", 0.0
        cur, w = cur + tok, w + tw
    return lines + [cur]


def _fit(text, width, size, least=6.0):
    while size > least and _width(text, size) > width:
        size -= 0.5
    return size


class _Layout:
    """Places the document top-down as canvas calls per page, so the footer can say 共N页."""

    def __init__(self, issuer, names=()):
        self.pages, self.issuer, self.seal_at = [], issuer, None
        names = sorted({n for n in names if n and n != BLANK}, key=len, reverse=True)
        self.tokens = re.compile("|".join([re.escape(n) for n in names] + [_TOKENS.pattern]))
        self.break_page()

    def break_page(self):
        self.ops = []
        self.pages.append(self.ops)
        self.y, self.state, self.signing = TOP, {}, False

    def set(self, name, *args):
        """Emits a state change only when it is one: most cells share line width and grey."""
        if self.state.get(name) != args:
            self.ops.append((name, *args))
            self.state[name] = args

    def need(self, h):
        if self.y - h < BOTTOM:
            self.break_page()

    def text(self, x, y, s, size=11.0, anchor="l", bold=False, space=0.0):
        if anchor != "l":
            w = _width(s, size) + space * (len(s) - 1)
            x -= w / 2 if anchor == "c" else w
        self.set("setFont", FONT, size)
        self.set("setFillGray", 0)
        self.ops.append(("drawString", x, y, s, 2 if bold else 0, space))

    def rect(self, x, y, w, h, fill=None, line=0.5):
        self.set("setLineWidth", line)
        if fill is not None:
            self.set("setFillGray", fill)
        self.ops.append(("rect", x, y, w, h, 1, int(fill is not None)))

    def heading(self, heading, title):
        space = 8.0 if len(heading) <= 6 else 0.0  # short headings are letter-spaced: 承 诺 书
        size = _fit(heading, WIDTH - space * len(heading), 20, 12)
        self.set("setLineWidth", 0.4)
        self.text(PAGE_W / 2, self.y - size, heading, size, "c", True, space)
        self.y -= size * 1.8
        if title != heading:
            self.text(PAGE_W / 2, self.y - 11, title, _fit(title, WIDTH, 12), "c")
            self.y -= 22

    def meta(self, s):
        self.text(PAGE_W / 2, self.y - 10, s, _fit(s, WIDTH, 10), "c")
        self.set("setLineWidth", 1.2)
        self.ops += [("setStrokeColorRGB", 0.8, 0.1, 0.1),
                     ("line", LEFT, self.y - 16, RIGHT, self.y - 16), ("setStrokeGray", 0)]
        self.y -= 30

    def sub(self, s):
        self.need(40)
        self.set("setLineWidth", 0.3)
        self.text(LEFT, self.y - 18, s, 12, bold=True)
        self.y -= 26

    def para(self, s, size=11.0, indent=True):
        lead, first = size * 1.75, 2 * size if indent else 0.0
        for i, line in enumerate(_wrap(s, WIDTH, size, first, self.tokens)):
            self.need(lead)
            self.text(LEFT + (first if i == 0 else 0), self.y - size - 4, line, size)
            self.y -= lead

    def right(self, s, size=11.0):
        """A signature or date line; the seal goes over the issuer's name where it appears."""
        self.y -= 0 if self.signing else 14
        self.need(26)
        size = _fit(s, WIDTH, size)
        self.text(RIGHT, self.y - size - 6, s, size, "r")
        if self.issuer in s and not self.seal_at:
            at = s.index(self.issuer)
            x = RIGHT - _width(s, size) + _width(s[:at], size) + _width(self.issuer, size) / 2
            self.seal_at = (self.ops, x, self.y - size - 2)
        self.y -= 26
        self.signing = True

    def cell(self, x, top, w, h, s, size=10.0, anchor="c", fill=None):
        self.rect(x, top - h, w, h, fill)
        size = _fit(s, w - 6, size)
        self.text(x + w / 2 if anchor == "c" else x + 4, top - h / 2 - size * 0.36, s, size, anchor)

    def grid(self, pairs, lab=88.0, size=10.5):
        """A form's label and value boxes, two pairs a row when the values are short."""
        half, rows, pend = WIDTH / 2, [], None
        for pair in pairs:
            if _width(pair[1], size) <= half - lab - 8:
                rows, pend = (rows + [[pend, pair]], None) if pend else (rows, pair)
            else:
                rows, pend = rows + ([[pend]] if pend else []) + [[pair]], None
        self.y -= 6
        for row in rows + ([[pend]] if pend else []):
            lines = _wrap(row[0][1], WIDTH - lab - 8, size, 0, self.tokens) if len(row) == 1 else []
            h = max(22.0, len(lines) * 15 + 7)
            self.need(h)
            for i, (k, v) in enumerate(row):
                self.cell(LEFT + i * half, self.y, lab, h, k, size, fill=0.92)
                if lines:
                    self.rect(LEFT + lab, self.y - h, WIDTH - lab, h)
                    for n, line in enumerate(lines):
                        self.text(LEFT + lab + 4, self.y - 15 * n - size - 5, line, size)
                else:
                    self.cell(LEFT + i * half + lab, self.y, half - lab, h, v, size, "l")
            self.y -= h
        self.y -= 8

    def table(self, head, rows, cols, h=20.0):
        edges = [LEFT + WIDTH * sum(cols[:i]) / sum(cols) for i in range(len(cols) + 1)]
        self.y -= 4
        for r, row in enumerate([head] + rows):
            self.need(h)
            for i, s in enumerate(row):
                self.cell(edges[i], self.y, edges[i + 1] - edges[i], h, s, 10, fill=None if r else 0.92)
            self.y -= h
        self.y -= 8


def _members(lay, f):
    rows = [["1", f["name"], "本人", f["id"]]] + [
        [str(i), m.get("name") or BLANK, RELATIONS.get(m.get("relation"), m.get("relation") or BLANK),
         m.get("id_number") or BLANK] for i, m in enumerate(f["_members"], 2)]
    lay.table(["序号", "姓名", "与申请人关系", "公民身份号码"], rows, (1, 2, 2, 4))


def _rent(lay, f):
    """The last twelve months up to the document's date, or the first twelve of the lease."""
    start, date, rows = f["_start"], f["_date"], []
    due = _money(f["_rent"]) if f["_rent"] is not None else BLANK
    if start and date and date > start:
        start = max(start, dt.date(date.year - (date.month < 12), date.month % 12 + 1, 1))
    for i in range(12):
        if not start:
            rows.append([f"第{i + 1}期", due, BLANK, BLANK, ""])
            continue
        y, m = divmod(start.year * 12 + start.month - 1 + i, 12)
        if date and dt.date(y, m + 1, 1) > date > start:
            break
        rows.append([f"{y}年{m + 1:02d}月", due, due, f"{y}-{m + 1:02d}-{3 + i * 7 % 8:02d}", "已缴清"])
    lay.table(["租期", "应缴租金（元）", "实缴租金（元）", "缴费日期", "备注"], rows, (3, 3, 3, 3, 2))


def _inspect(lay, f):
    items = ("入户门及门锁", "窗户、纱窗及玻璃", "墙面、地面及顶棚", "给排水及卫生洁具", "电气线路、开关及插座",
             "燃气管道及灶具", "厨房橱柜及热水器", "水表、电表、燃气表")
    lay.table(["项目", "状况", "备注"],
              [[s, "完好", "无渗漏、无损坏" if i < 3 else "正常使用"] for i, s in enumerate(items)], (4, 2, 4))


def _settle(lay, f):
    dep = _money(f["_deposit"]) if f["_deposit"] is not None else BLANK
    rows = [["租金（截至腾退之日）", "0.00", "已结清"], ["水、电、燃气费", "0.00", "已结清"],
            ["物业服务费", "0.00", "已结清"], ["房屋及设施损坏赔偿", "0.00", "验收无损坏"],
            ["退还履约保证金", dep, "无息退还"], ["应退承租人合计", dep, f["deposit_cn"]]]
    lay.table(["结算项目", "金额（元）", "说明"], rows, (4, 2, 4))


def _repair(lay, f):
    days = [_day(f["_date"] - dt.timedelta(days=n)) if f["_date"] else BLANK for n in (210, 95, 0)]
    rows = [[days[0], "卫生间", "更换地漏，局部修补防水层", "360.00"], [days[1], "厨房", "更换燃气软管及灶具旋钮", "85.00"],
            [days[2], "入户门", "更换门锁锁芯", "120.00"]]
    lay.table(["日期", "部位", "维修内容", "费用（元）", "维修单位"], [r + ["物业服务中心"] for r in rows], (3, 2, 5, 2, 3))


def _plan(lay, f):
    """A schematic plan with as many bedrooms as the layout's name says."""
    words = (("三", 3), ("两", 2), ("二", 2), ("一", 1), ("单", 0))
    beds = next((n for k, n in words if k in f["layout"]), 1)
    x, w, h = LEFT + 30, WIDTH - 60, 200.0
    lay.need(h + 20)
    top = lay.y - 10
    for names, parts, y, rh in ((["客厅" if beds else "起居室"] + ["卧室"] * beds, [1.5] + [1] * beds,
                                 top, h * 0.6),
                                (["厨房", "卫生间", "阳台"], [1, 1, 1.5], top - h * 0.6, h * 0.4)):
        for i, name in enumerate(names):
            lay.cell(x + w * sum(parts[:i]) / sum(parts), y, w * parts[i] / sum(parts), rh, name, 11)
    lay.rect(x, top - h, w, h, line=1.5)
    lay.y = top - h - 14


BLOCKS = {"members": _members, "rent": _rent, "inspect": _inspect, "settle": _settle,
          "repair": _repair, "plan": _plan}


def _draw(pages, f, title, heading):
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=0)
    # Flate without ASCII85: reportlab's pure-Python A85 encoder would halve the speed, and a
    # per-document default leaves the global rl_config alone.
    c._doc.defaultStreamFilters = [pdfdoc.PDFZCompress]
    c.setTitle(title)
    c.setAuthor(f["issuer"])
    c.setSubject(heading)
    for n, ops in enumerate(pages, 1):
        c.setFont(FONT, 9)
        c.setFillGray(0.4)
        c.drawString(LEFT, PAGE_H - 52, f"{f['city']}公共租赁住房档案")
        c.drawRightString(RIGHT, PAGE_H - 52, f["doc_no"])
        c.drawCentredString(PAGE_W / 2, 44, f"第 {n} 页  共 {len(pages)} 页")
        c.setStrokeGray(0.6)
        c.setLineWidth(0.5)
        c.line(LEFT, PAGE_H - 58, RIGHT, PAGE_H - 58)
        c.setFillGray(0)
        c.setStrokeGray(0)
        for op, *args in ops:
            op(c, *args) if callable(op) else getattr(c, op)(*args)
        c.showPage()
    c.save()
    return buf.getvalue()


def _seal(c, x, y, r=34.0):
    """The office's red seal over its name, drawn as shapes so it adds nothing to the text layer."""
    c.saveState()
    c.setStrokeColorRGB(0.85, 0.1, 0.1, alpha=0.85)
    c.setFillColorRGB(0.85, 0.1, 0.1, alpha=0.85)
    c.setLineWidth(2)
    c.circle(x, y, r)
    c.setLineWidth(0.6)
    c.circle(x, y, r - 4)
    star = c.beginPath()
    for i in range(10):
        a, rad = math.pi / 2 + i * math.pi / 5, 9.0 if i % 2 == 0 else 3.6
        (star.lineTo if i else star.moveTo)(x + rad * math.cos(a), y + rad * math.sin(a))
    star.close()
    c.drawPath(star, stroke=0, fill=1)
    c.restoreState()
